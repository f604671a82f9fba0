import pg from 'pg';

export function createPool(url: string, max: number, applicationName = 'runledger'): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, application_name: applicationName });
  // An idle client whose connection dies (server restart, pg_terminate_backend)
  // emits 'error' on the pool; without a listener that would crash the process.
  pool.on('error', () => {});
  return pool;
}
