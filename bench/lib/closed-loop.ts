import pg from 'pg';

/** A bench connection of its own (not pooled). */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'runledger-bench' });
  await client.connect();
  return client;
}

/**
 * Runs `op` in a loop on each of `clients` (the i-th call on client w has
 * i = w, w + n, …) for `seconds`; returns operations per second.
 */
export async function closedLoop(
  clients: readonly pg.Client[],
  op: (client: pg.Client, i: number) => Promise<unknown>,
  seconds: number,
): Promise<number> {
  let done = 0;
  const until = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (client, w) => {
      for (let i = w; Date.now() < until; i += clients.length) {
        await op(client, i);
        done += 1;
      }
    }),
  );
  return done / (Number(process.hrtime.bigint() - started) / 1e9);
}
