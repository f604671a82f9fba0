import type pg from 'pg';

/**
 * Runs `body` between `begin` (or the given BEGIN statement, e.g. with an
 * isolation level) and COMMIT on a client the caller holds; rolls back and
 * rethrows if it throws.
 */
export async function inTransaction<T>(client: pg.ClientBase, body: () => Promise<T>, begin = 'begin'): Promise<T> {
  await client.query(begin);
  try {
    const result = await body();
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}

/** Runs `body` in a transaction on a pooled client; rolls back if it throws. */
export async function withTransaction<T>(
  pool: pg.Pool,
  body: (client: pg.PoolClient) => Promise<T>,
  begin = 'begin',
): Promise<T> {
  const client = await pool.connect();
  try {
    return await inTransaction(client, () => body(client), begin);
  } finally {
    client.release();
  }
}
