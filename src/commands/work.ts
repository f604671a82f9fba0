import { registerDemoPipelines, startSweeper, startWorker } from '../pipelines/index.js';
import { untilSignal } from '../ops/signals.js';
import type { Command } from './command.js';
import { withDatabase } from './with-database.js';

export const workCommand: Command = {
  summary: 'run a pipeline worker (and a sweeper) until SIGTERM/Ctrl-C; scale out by starting more',
  run: (_args, context) => {
    // Listen from the start: a signal during start-up still stops us gracefully.
    const signalled = untilSignal();
    return withDatabase(context, async (pool, database) => {
      const { config, logger } = context;
      registerDemoPipelines();
      const worker = await startWorker({ url: database.url, config, logger });
      const sweeper = startSweeper({ pool, config, logger });
      logger.info({ workerId: worker.workerId, concurrency: config.workerConcurrency }, 'worker started');
      const signal = await signalled;
      logger.info({ signal }, 'worker stopping: running steps finish or are handed back');
      await sweeper.stop();
      await worker.stop(signal);
      return 0;
    });
  },
};
