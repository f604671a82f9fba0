import { untilSignal } from '../ops/signals.js';
import type { Command } from './command.js';
import { startServers, takeOverSignals } from './serve.js';
import { withDatabase } from './with-database.js';

export const startCommand: Command = {
  summary: 'run everything in one process on the embedded PostgreSQL (or DATABASE_URL) until Ctrl-C',
  run: (_args, context) =>
    withDatabase(context, async (pool, database) => {
      takeOverSignals();
      const servers = await startServers(pool, database.url, context);
      context.logger.info({ embedded: database.embedded }, 'runledger started; Ctrl-C to stop');
      const signal = await untilSignal();
      context.logger.info({ signal }, 'stopping');
      await servers.stop();
      return 0;
    }),
};
