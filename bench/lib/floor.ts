// The raw PostgreSQL floor every bench reports beside its own numbers: a bare
// table whose INSERT trigger calls pg_notify.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Latencies } from './stats.js';

export const FLOOR_SQL = `
  create table floor_events (id bigserial primary key, type text not null, data jsonb not null);
  create function floor_notify() returns trigger language plpgsql as $$
  begin perform pg_notify('floor', new.id::text); return null; end $$;
  create trigger floor_notify after insert on floor_events for each row execute function floor_notify();`;

/** Sleeps until `performance.now()` reaches `scheduled` (never returns early). */
export async function waitUntil(scheduled: number): Promise<void> {
  for (let wait = scheduled - performance.now(); wait > 0; wait = scheduled - performance.now()) await sleep(wait);
}

/**
 * Open loop: calls `send(i, scheduled)` at `rate` per second for `seconds`,
 * each at its scheduled time (never early) without waiting for earlier sends;
 * resolves when every send has settled. Latencies count from `scheduled`.
 */
export async function openLoop(rate: number, seconds: number, send: (i: number, scheduled: number) => Promise<unknown>): Promise<void> {
  const total = rate * seconds;
  const t0 = performance.now() + 50;
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < total; i += 1) {
    const scheduled = t0 + (i * 1000) / rate;
    await waitUntil(scheduled);
    inflight.push(send(i, scheduled));
  }
  await Promise.all(inflight);
}

/**
 * INSERT + NOTIFY -> LISTEN round trip, open loop at `rate` rows/s for
 * `seconds`, latency from each row's scheduled send time. Creates the floor
 * table in the database at `url`. Arrival times are recorded as they come, so
 * a notification that beats the INSERT's own reply still counts.
 */
export async function notifyRoundTrip(url: string, rate: number, seconds: number): Promise<Latencies> {
  const listener = new pg.Client({ connectionString: url });
  const writer = new pg.Client({ connectionString: url });
  await Promise.all([listener.connect(), writer.connect()]);
  await writer.query(FLOOR_SQL);
  const sent = new Map<string, number>();
  const arrived = new Map<string, number>();
  listener.on('notification', (message) => arrived.set(message.payload ?? '', performance.now()));
  await listener.query('listen floor');
  // One writer connection: each INSERT is queued behind the previous one
  // here, explicitly (pg deprecates queueing queries on a busy client, and
  // printed "Calling client.query() when the client is already executing a
  // query" for this loop); latency still counts from the scheduled time.
  let previous: Promise<unknown> = Promise.resolve();
  await openLoop(rate, seconds, (i, scheduled) => {
    previous = previous.then(() =>
      writer.query('insert into floor_events (type, data) values ($1, $2) returning id', ['bench.rtt', { i }]).then((r) => {
        sent.set(String(r.rows[0].id), scheduled);
      }),
    );
    return previous;
  });
  await sleep(200);
  const latencies = new Latencies();
  for (const [id, at] of sent) {
    const got = arrived.get(id);
    if (got !== undefined) latencies.record(got - at);
  }
  await Promise.all([listener.end(), writer.end()]);
  return latencies;
}
