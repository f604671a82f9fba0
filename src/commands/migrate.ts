import type { Command } from './command.js';
import { withDatabase } from './with-database.js';

export const migrateCommand: Command = {
  summary: 'apply the numbered SQL migrations in sql/ and exit',
  run: (_args, context) =>
    withDatabase(context, async (_pool, _database, applied) => {
      console.log(applied.length === 0 ? 'migrations up to date' : `applied ${applied.length} migrations (${applied.join(', ')})`);
      return 0;
    }),
};
