// Append throughput against the raw floor of the same run:
//  - floor: a bare table whose INSERT trigger calls pg_notify, 8 writers of
//    single-row transactions, and the INSERT+NOTIFY -> LISTEN round trip;
//  - runledger: single-event appends with 8 writers, then batched appends.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { append } from '../src/ledger/append.js';
import type { NewEvent } from '../src/ledger/types.js';
import type { BenchContext, BenchResult } from './lib/context.js';
import { Latencies, round } from './lib/stats.js';

const WRITERS = 8;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BATCH = 1000;
const BATCH_WRITERS = 2;

const FLOOR_SQL = `
  create table floor_events (id bigserial primary key, type text not null, data jsonb not null);
  create function floor_notify() returns trigger language plpgsql as $$
  begin perform pg_notify('floor', new.id::text); return null; end $$;
  create trigger floor_notify after insert on floor_events for each row execute function floor_notify();`;

const sampleData = (i: number) => ({ jobId: `job-${i % 997}`, pipeline: 'video_clip', step: 'transcribe', attempt: 1, percent: i % 100 });

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'runledger-bench' });
  await client.connect();
  return client;
}

/** Runs `op` in a loop on each of `clients` for SECONDS; returns operations per second. */
async function closedLoop(clients: pg.Client[], op: (client: pg.Client, i: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  const until = Date.now() + SECONDS * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (client, w) => {
      for (let i = w; Date.now() < until; i += clients.length) {
        await op(client, i);
        done += 1;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return done / seconds;
}

async function notifyRoundTrip(url: string, rate: number): Promise<Latencies> {
  const listener = await connect(url);
  const writer = await connect(url);
  const sent = new Map<string, number>();
  const latencies = new Latencies();
  listener.on('notification', (message) => {
    const at = sent.get(message.payload ?? '');
    if (at !== undefined) latencies.record(performance.now() - at);
  });
  await listener.query('listen floor');
  const total = rate * SECONDS;
  const start = performance.now() + 50;
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < total; i += 1) {
    const scheduled = start + (i * 1000) / rate;
    const wait = scheduled - performance.now();
    if (wait > 1) await sleep(wait);
    // Open loop: latency counts from the scheduled send time, not the actual one.
    inflight.push(
      writer.query('insert into floor_events (type, data) values ($1, $2) returning id', ['bench.rtt', { i }]).then((r) => {
        sent.set(String(r.rows[0].id), scheduled);
      }),
    );
  }
  await Promise.all(inflight);
  await sleep(200);
  await listener.end();
  await writer.end();
  return latencies;
}

export default async function appendBench(context: BenchContext): Promise<BenchResult> {
  const url = await context.freshDatabase('append');
  const setup = await connect(url);
  await setup.query(FLOOR_SQL);
  await setup.end();
  const clients = await Promise.all(Array.from({ length: WRITERS }, () => connect(url)));

  context.log(`floor: NOTIFY round trip at 500 events/s for ${SECONDS}s`);
  const rtt = await notifyRoundTrip(url, 500);

  context.log(`floor: INSERT + NOTIFY trigger, ${WRITERS} writers, ${SECONDS}s`);
  const floorTps = await closedLoop(clients, (client, i) =>
    client.query('insert into floor_events (type, data) values ($1, $2)', ['bench.floor', sampleData(i)]),
  );

  context.log(`runledger: single-event appends, ${WRITERS} writers, ${SECONDS}s`);
  const singleTps = await closedLoop(clients, (client, i) =>
    append(client, [{ streamType: 'job', streamId: `job-${i % 997}`, type: 'step.progress', data: sampleData(i) }]),
  );

  context.log(`runledger: batches of ${BATCH}, ${BATCH_WRITERS} writers, ${SECONDS}s`);
  const batches = Array.from({ length: 8 }, (_, b): NewEvent[] =>
    Array.from({ length: BATCH }, (_, i) => ({
      streamType: 'job',
      streamId: `job-${b}-${i % 50}`,
      type: 'step.progress',
      data: sampleData(i),
    })),
  );
  const batchesPerSecond = await closedLoop(clients.slice(0, BATCH_WRITERS), (client, i) =>
    append(client, batches[i % batches.length]!),
  );
  await Promise.all(clients.map((client) => client.end()));

  const json = {
    floor_notify_rtt_p50_ms: rtt.p(50),
    floor_notify_rtt_p99_ms: rtt.p(99),
    floor_insert_notify_tps: Math.round(floorTps),
    append_single_tps: Math.round(singleTps),
    append_single_ratio: round(singleTps / floorTps, 3),
    append_batch_eps: Math.round(batchesPerSecond * BATCH),
  };
  return {
    rows: [
      ['floor: INSERT+NOTIFY -> LISTEN p50', json.floor_notify_rtt_p50_ms, 'ms', '500 events/s open loop'],
      ['floor: INSERT+NOTIFY -> LISTEN p99', json.floor_notify_rtt_p99_ms, 'ms'],
      ['floor: INSERT+NOTIFY commits', json.floor_insert_notify_tps, 'tx/s', `${WRITERS} writers`],
      ['append, single event', json.append_single_tps, 'tx/s', `${WRITERS} writers`],
      ['append single / floor', json.append_single_ratio, 'x', 'target >= 0.9'],
      [`append, batches of ${BATCH}`, json.append_batch_eps, 'events/s', `${BATCH_WRITERS} writers; target >= 100,000`],
    ],
    json,
  };
}
