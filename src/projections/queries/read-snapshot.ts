import pg from 'pg';
import type { Queryable } from '../../ledger/types.js';

/**
 * Runs `body` on one consistent view of the database: given a pool, in a
 * REPEATABLE READ, read-only transaction of its own (so a job moving from the
 * live tables to the archive between two queries is seen in one place);
 * given a client, on it as it is (the caller's transaction decides).
 */
export async function inReadSnapshot<T>(db: Queryable, body: (db: Queryable) => Promise<T>): Promise<T> {
  if (!(db instanceof pg.Pool)) return body(db);
  const client = await db.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    const result = await body(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
