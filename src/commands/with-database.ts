import type pg from 'pg';
import { openDatabase, type Database } from '../ops/database.js';
import { migrate } from '../ops/migrate.js';
import { createPool } from '../ops/pool.js';
import type { CommandContext } from './command.js';

/** Opens the database (embedded or DATABASE_URL), migrates it, runs `body`, and closes everything. */
export async function withDatabase<T>(
  { config, logger }: CommandContext,
  body: (pool: pg.Pool, database: Database, applied: number[]) => Promise<T>,
): Promise<T> {
  const database = await openDatabase(config, (line) => logger.debug({ postgres: line.trim() }));
  const pool = createPool(database.url, config.poolSize);
  try {
    await pool.query('select 1').catch((error: Error) => {
      const where = database.url.replace(/:[^:@/]*@/, ':***@');
      throw new Error(`cannot reach PostgreSQL at ${where}: ${error.message}. Check DATABASE_URL.`, { cause: error });
    });
    const applied = await migrate(pool);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    return await body(pool, database, applied);
  } finally {
    await pool.end();
    await database.stop();
  }
}
