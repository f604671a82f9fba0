import pg from 'pg';

export interface PoolOptions {
  /**
   * Commit without waiting for the WAL flush (synchronous_commit=off): only
   * for bookkeeping a crash may lose. A transaction that appends to the
   * ledger is synchronous whatever this says (ledger.seal sees to it).
   */
  readonly asyncCommit?: boolean;
}

export function createPool(url: string, max: number, applicationName = 'runledger', { asyncCommit = false }: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: applicationName,
    ...(asyncCommit ? { options: '-c synchronous_commit=off' } : {}),
  });
  // An idle client whose connection dies (server restart, pg_terminate_backend)
  // emits 'error' on the pool; without a listener that would crash the process.
  pool.on('error', () => {});
  return pool;
}
