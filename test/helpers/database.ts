import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPool } from '../../src/ops/pool.js';

export interface TestDatabase {
  readonly url: string;
  readonly pool: pg.Pool;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the tests with `npm test`, which provides a database');
  return url;
}

/**
 * A fresh database cloned from the migrated template that `npm test`
 * prepared, or (`migrated: false`) an empty one.
 */
export async function createTestDatabase(poolSize = 10, { migrated = true } = {}): Promise<TestDatabase> {
  const template = process.env.RUNLEDGER_TEST_TEMPLATE ?? 'runledger_test_template';
  const name = `runledger_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(migrated ? `create database ${name} template ${template}` : `create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), poolSize, 'runledger-test');
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: adminUrl() });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
