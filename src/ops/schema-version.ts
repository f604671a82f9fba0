import type { Queryable } from '../ledger/types.js';
import { loadMigrations } from './migrate.js';

/**
 * For commands that must not change the database (verify, tail): checks the
 * schema is at least at the newest migration this build knows, without
 * running DDL, so a read-only role (runledger_auditor) can run them. Throws
 * an error saying what to do when it is behind.
 */
export async function checkSchemaVersion(db: Queryable): Promise<void> {
  const migrations = await loadMigrations();
  const needed = migrations.at(-1)?.id ?? 0;
  let current: number | undefined;
  try {
    const { rows } = await db.query<{ version: number }>('select ledger.schema_version() as version');
    current = rows[0]!.version;
  } catch (error) {
    // 3F000: no ledger schema (never migrated); 42883: no schema_version() (migrated before 000008).
    const code = (error as { code?: string }).code;
    if (code !== '3F000' && code !== '42883') throw error;
  }
  if (current !== undefined && current >= needed) return;
  const at = current === undefined ? 'older than migration 8' : `at migration ${current}`;
  throw new Error(
    `the database schema is ${at}, this runledger needs migration ${needed}: ` +
      'run `runledger migrate` with the database owner\'s DATABASE_URL, then try again',
  );
}
