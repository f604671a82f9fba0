import { registerDemoPipelines, startSweeper, startWorker } from '../pipelines/index.js';
import { untilSignal } from '../ops/signals.js';
import { metrics } from '../ops/metrics/registry.js';
import { startMetricsServer } from '../ops/metrics/server.js';
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
      const metricsServer =
        config.metricsPort === undefined
          ? undefined
          : await startMetricsServer({ metrics, host: config.host, port: config.metricsPort, token: config.metricsToken });
      logger.info({ workerId: worker.workerId, concurrency: config.workerConcurrency, metricsPort: metricsServer?.port }, 'worker started');
      const signal = await signalled;
      logger.info({ signal }, 'worker stopping: running steps finish or are handed back');
      await sweeper.stop();
      await worker.stop(signal);
      await metricsServer?.close();
      return 0;
    });
  },
};
