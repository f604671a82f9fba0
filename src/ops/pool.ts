import pg from 'pg';
import { createGate, type Gate } from './gate.js';

export interface PoolOptions {
  /**
   * Commit without waiting for the WAL flush (synchronous_commit=off): only
   * for bookkeeping a crash may lose. A transaction that appends to the
   * ledger is synchronous whatever this says (ledger.seal sees to it).
   */
  readonly asyncCommit?: boolean;
  /**
   * Transactions of `append(pool, …)` open at once on this pool; further
   * callers wait in this process for one to finish. The ledger commits one
   * append at a time (its ordering lock, PostgreSQL's NOTIFY lock), so more
   * transactions in flight only queue in PostgreSQL, where they took CPU
   * from the one committing: on the 2-core bench machine 8 callers ran
   * 1.2–1.6x faster 2 at a time than 8 at a time (docs/ledger-passes.md,
   * "The fifth pass"). Raise it where round trips to a remote PostgreSQL
   * are long against its commit. (Default: 2)
   */
  readonly appendsAtOnce?: number;
}

const DEFAULT_APPENDS_AT_ONCE = 2;
const appendGates = new WeakMap<pg.Pool, Gate>();

/** The gate of `appendsAtOnce` the pool was created with (made with the default for a pool not made by `createPool`). */
export function appendGate(pool: pg.Pool): Gate {
  let gate = appendGates.get(pool);
  if (!gate) appendGates.set(pool, (gate = createGate(DEFAULT_APPENDS_AT_ONCE)));
  return gate;
}

export function createPool(
  url: string,
  max: number,
  applicationName = 'runledger',
  { asyncCommit = false, appendsAtOnce: appendLimit = DEFAULT_APPENDS_AT_ONCE }: PoolOptions = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: applicationName,
    ...(asyncCommit ? { options: '-c synchronous_commit=off' } : {}),
  });
  // An idle client whose connection dies (server restart, pg_terminate_backend)
  // emits 'error' on the pool; without a listener that would crash the process.
  pool.on('error', () => {});
  appendGates.set(pool, createGate(appendLimit));
  return pool;
}
