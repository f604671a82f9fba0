import type pg from 'pg';
import { openDatabase, type Database } from '../ops/database.js';
import { migrate } from '../ops/migrate.js';
import { createPool } from '../ops/pool.js';
import type { CommandContext } from './command.js';

/**
 * Opens the database (embedded or DATABASE_URL), migrates it, runs `body`, and closes everything.
 * `readOnly` commands (verify, export) never migrate: they may run as a role that can only read.
 */
export async function withDatabase<T>(
  { config, logger }: CommandContext,
  body: (pool: pg.Pool, database: Database) => Promise<T>,
  { readOnly = false }: { readOnly?: boolean } = {},
): Promise<T> {
  const database = await openDatabase(config, (line) => logger.debug({ postgres: line.trim() }));
  const pool = createPool(database.url, config.poolSize);
  try {
    await pool.query('select 1').catch((error: Error) => {
      const where = database.url.replace(/:[^:@/]*@/, ':***@');
      throw new Error(`cannot reach PostgreSQL at ${where}: ${error.message}. Check DATABASE_URL.`, { cause: error });
    });
    if (!readOnly) {
      const applied = await migrate(pool);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    return await body(pool, database);
  } finally {
    await pool.end();
    await database.stop();
  }
}
