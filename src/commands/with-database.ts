import type pg from 'pg';
import { openDatabase, type Database } from '../ops/database.js';
import { migrate } from '../ops/migrate.js';
import { createPool } from '../ops/pool.js';
import { checkSchemaVersion } from '../ops/schema-version.js';
import type { CommandContext } from './command.js';

export interface WithDatabaseOptions {
  /**
   * Migrate first (DDL: needs the database owner), or, when false, only
   * check the schema is current (for read-only commands, which an auditor's
   * role may run). (Default: true)
   */
  readonly migrate?: boolean;
}

/** Opens the database (embedded or DATABASE_URL), migrates it (or checks its schema version), runs `body`, and closes everything. */
export async function withDatabase<T>(
  { config, logger }: CommandContext,
  body: (pool: pg.Pool, database: Database, applied: number[]) => Promise<T>,
  options: WithDatabaseOptions = {},
): Promise<T> {
  const database = await openDatabase(config, (line) => logger.debug({ postgres: line.trim() }));
  const pool = createPool(database.url, config.poolSize);
  try {
    await pool.query('select 1').catch((error: Error) => {
      const where = database.url.replace(/:[^:@/]*@/, ':***@');
      throw new Error(`cannot reach PostgreSQL at ${where}: ${error.message}. Check DATABASE_URL.`, { cause: error });
    });
    let applied: number[] = [];
    if (options.migrate ?? true) {
      applied = await migrate(pool);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    } else {
      await checkSchemaVersion(pool);
    }
    return await body(pool, database, applied);
  } finally {
    await pool.end();
    await database.stop();
  }
}
