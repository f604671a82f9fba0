import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger, runMigrations } from 'graphile-worker';
import type pg from 'pg';
import { MIGRATION_LOCK } from './locks.js';
import { withTransaction } from './transaction.js';

const SQL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..', 'sql');

export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}

export async function loadMigrations(dir = SQL_DIR): Promise<Migration[]> {
  const files = (await fs.readdir(dir)).filter((file) => /^\d{6}_.+\.sql$/.test(file)).sort();
  return Promise.all(
    files.map(async (file) => ({
      id: Number(file.slice(0, 6)),
      name: file,
      sql: await fs.readFile(path.join(dir, file), 'utf8'),
    })),
  );
}

/**
 * Applies the numbered files of `sql/` in order, each in its own transaction.
 * Safe when several processes migrate at once: each transaction takes the same
 * advisory lock and skips migrations another process already applied.
 * Then installs (or upgrades) graphile-worker's schema.
 */
export async function migrate(pool: pg.Pool): Promise<number[]> {
  const migrations = await loadMigrations();
  const applied: number[] = [];
  await pool.query(`
    create schema if not exists runledger;
    create table if not exists runledger.migrations (
      id int primary key, name text not null, applied_at timestamptz not null default now())`).catch(
    // Two processes racing on "create ... if not exists" can still collide.
    (error: { code?: string }) => {
      if (error.code !== '23505' && error.code !== '42P07') throw error;
    },
  );
  for (const migration of migrations) {
    await withTransaction(pool, async (client) => {
      await client.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const { rowCount } = await client.query('select 1 from runledger.migrations where id = $1', [migration.id]);
      if (rowCount === 0) {
        await client.query('insert into runledger.migrations (id, name) values ($1, $2)', [migration.id, migration.name]);
        await client.query(migration.sql);
        applied.push(migration.id);
      }
    }).catch((error: Error) => {
      throw new Error(`migration ${migration.name} failed: ${error.message}`, { cause: error });
    });
  }
  // graphile-worker's own schema, which pipeline steps run on. It migrates
  // under its own lock, so concurrent processes are safe here too.
  // Its own short-lived pool from the same URL: handing it ours would make it
  // install error handlers on a pool it does not own.
  await runMigrations({ connectionString: pool.options.connectionString, maxPoolSize: 1, logger: new Logger(() => () => {}) });
  return applied;
}
