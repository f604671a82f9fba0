import { untilSignal } from '../ops/signals.js';
import { registerDemoPipelines, startDemoLoad, startSweeper, startWorker } from '../pipelines/index.js';
import type { Command } from './command.js';
import { startServers } from './serve.js';
import { withDatabase } from './with-database.js';

export const startCommand: Command = {
  summary: 'run everything in one process on the embedded PostgreSQL (or DATABASE_URL) until Ctrl-C',
  run: (_args, context) => {
    // Listen from the start: a signal during start-up still stops us gracefully.
    const signalled = untilSignal();
    return withDatabase(context, async (pool, database) => {
      const { config, logger } = context;
      const servers = await startServers(pool, database.url, context);
      registerDemoPipelines();
      const worker = await startWorker({ url: database.url, config, logger });
      const sweeper = startSweeper({ pool, config, logger });
      const demo = config.demo
        ? startDemoLoad({ pool, logger, jobsPerSecond: config.demoJobsPerSecond, failureRate: config.demoFailureRate, maxEventBytes: config.maxEventBytes })
        : undefined;
      logger.info({ embedded: database.embedded, demo: config.demo }, 'runledger started; Ctrl-C to stop');
      const signal = await signalled;
      logger.info({ signal }, 'stopping');
      await demo?.stop();
      await sweeper.stop();
      await worker.stop(signal);
      // Last, so dashboards are told the offset to resume from after everything else settled.
      await servers.stop();
      return 0;
    });
  },
};
