// Append throughput against the raw floor of the same run:
//  - floor: a bare table whose INSERT trigger calls pg_notify, 8 writers of
//    single-row transactions, and the INSERT+NOTIFY -> LISTEN round trip;
//  - runledger: single-event appends with 8 writers, each its own transaction;
//    the same through the group-commit appender (8 callers, one pool); then
//    batched appends.
import pg from 'pg';
import { append } from '../src/ledger/append.js';
import { createAppender } from '../src/ledger/appender.js';
import { createPool } from '../src/ops/pool.js';
import type { NewEvent } from '../src/ledger/types.js';
import type { BenchContext, BenchResult } from './lib/context.js';
import { notifyRoundTrip } from './lib/floor.js';
import { round } from './lib/stats.js';

const WRITERS = 8;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BATCH = 1000;
const BATCH_WRITERS = 2;

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

export default async function appendBench(context: BenchContext): Promise<BenchResult> {
  const url = await context.freshDatabase('append');
  const clients = await Promise.all(Array.from({ length: WRITERS }, () => connect(url)));

  context.log(`floor: NOTIFY round trip at 500 events/s for ${SECONDS}s`);
  const rtt = await notifyRoundTrip(url, 500, SECONDS); // creates floor_events

  context.log(`floor: INSERT + NOTIFY trigger, ${WRITERS} writers, ${SECONDS}s`);
  const floorTps = await closedLoop(clients, (client, i) =>
    client.query('insert into floor_events (type, data) values ($1, $2)', ['bench.floor', sampleData(i)]),
  );

  context.log(`runledger: single-event appends, ${WRITERS} writers, ${SECONDS}s`);
  const singleTps = await closedLoop(clients, (client, i) =>
    append(client, [{ streamType: 'job', streamId: `job-${i % 997}`, type: 'step.progress', data: sampleData(i) }]),
  );

  context.log(`runledger: single-event appends through the group-commit appender, ${WRITERS} callers, ${SECONDS}s`);
  const pool = createPool(url, 2, 'runledger-bench');
  const appender = createAppender(pool);
  const coalescedTps = await closedLoop(clients, (_client, i) =>
    appender.append([{ streamType: 'job', streamId: `job-${i % 997}`, type: 'step.progress', data: sampleData(i) }]),
  );
  await pool.end();

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
    append_grouped_eps: Math.round(coalescedTps),
    append_grouped_ratio: round(coalescedTps / floorTps, 3),
    append_batch_eps: Math.round(batchesPerSecond * BATCH),
  };
  return {
    rows: [
      ['floor: INSERT+NOTIFY -> LISTEN p50', json.floor_notify_rtt_p50_ms, 'ms', '500 events/s open loop'],
      ['floor: INSERT+NOTIFY -> LISTEN p99', json.floor_notify_rtt_p99_ms, 'ms'],
      ['floor: INSERT+NOTIFY commits', json.floor_insert_notify_tps, 'tx/s', `${WRITERS} writers`],
      ['append, single event', json.append_single_tps, 'tx/s', `${WRITERS} writers`],
      ['append single / floor', json.append_single_ratio, 'x', 'target >= 0.9'],
      ['append, single events, group commit', json.append_grouped_eps, 'events/s', `${WRITERS} callers, createAppender()`],
      ['group commit / floor', json.append_grouped_ratio, 'x', 'events/s against the floor\'s tx/s'],
      [`append, batches of ${BATCH}`, json.append_batch_eps, 'events/s', `${BATCH_WRITERS} writers; target >= 100,000`],
    ],
    json,
  };
}
