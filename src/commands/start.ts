import { untilSignal } from '../ops/signals.js';
import type { Command } from './command.js';
import { withDatabase } from './with-database.js';

export const startCommand: Command = {
  summary: 'run everything in one process on the embedded PostgreSQL (or DATABASE_URL) until Ctrl-C',
  run: (_args, context) =>
    withDatabase(context, async (_pool, database) => {
      context.logger.info({ embedded: database.embedded }, 'runledger started; Ctrl-C to stop');
      const signal = await untilSignal();
      context.logger.info({ signal }, 'stopping');
      return 0;
    }),
};
