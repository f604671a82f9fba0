import pg from 'pg';
import type { Queryable } from '../../ledger/types.js';
import { withTransaction } from '../../ops/transaction.js';

/**
 * Runs `body` on one consistent view of the database: given a pool, in a
 * REPEATABLE READ, read-only transaction of its own (so a job moving from the
 * live tables to the archive between two queries is seen in one place);
 * given a client, on it as it is (the caller's transaction decides).
 */
export async function inReadSnapshot<T>(db: Queryable, body: (db: Queryable) => Promise<T>): Promise<T> {
  if (!(db instanceof pg.Pool)) return body(db);
  return withTransaction(db, body, 'begin isolation level repeatable read read only');
}
