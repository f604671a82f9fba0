import pg from 'pg';

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
const appendLimits = new WeakMap<pg.Pool, number>();

/** The `appendsAtOnce` the pool was created with (the default for a pool not made by `createPool`). */
export const appendsAtOnce = (pool: pg.Pool): number => appendLimits.get(pool) ?? DEFAULT_APPENDS_AT_ONCE;

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
  appendLimits.set(pool, appendLimit);
  return pool;
}
