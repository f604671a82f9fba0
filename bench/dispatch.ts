// Stream dispatch against the raw floor of the same run. The server runs as
// `runledger serve` in a child process, so the load generator (appends here,
// WebSocket clients on a worker thread, lib/ws-receivers.ts) does not share
// its event loop:
//  - floor: INSERT + NOTIFY trigger -> LISTEN round trip, 500 events/s open loop;
//  (a) append committed -> delivered to each of 100 clients at 500 events/s,
//      "committed" being the block's sealed_at (the spec's measure), and from
//      the append's scheduled send time (the append's own latency included)
//      (also reported: scheduled -> append committed, the part the stream does not control,
//      and the server's own split from its histograms: NOTIFY -> events read -> frames sent);
//  (b) fan-out: 1,000 clients at 100 events/s, delivered ratio and p99;
//  (a) and (b) beside the stream's floor: the same clients fed frames of the
//      same size at the same rate by a bare uWebSockets.js server with no
//      database (lib/bare-broadcast.ts); (a) also beside the least dispatcher
//      with a database: the floor's INSERT+NOTIFY relayed to the same clients
//      by a bare uWebSockets.js server that LISTENs, straight from the
//      payload, and after reading the table as runledger must (invariant 3)
//      (lib/notify-relay.ts); and beside runledger's own appends and live
//      read relayed by that bare server, without `serve` around them;
//  (c) replay: one client catching up from offset 0 over BENCH_REPLAY_EVENTS (default 1,000,000),
//      beside a plain read of the same events;
//  (d) server RSS per 1,000 idle clients.
// Latencies count from the scheduled send time (open loop), not the actual one;
// (a) and (b) measure after a 1 s warm-up at the same rate (JIT, connections).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { append } from '../src/ledger/append.js';
import { EVENT_COLUMNS } from '../src/ledger/read.js';
import type { NewEvent } from '../src/ledger/types.js';
import { createPool } from '../src/ops/pool.js';
import type { BenchContext, BenchResult } from './lib/context.js';
import { notifyRoundTrip, openLoop } from './lib/floor.js';
import { quantileBetween, scrape } from './lib/server-metrics.js';
import { Latencies, round } from './lib/stats.js';
import { Receivers } from './lib/ws-receivers.js';
import { startBareBroadcast } from './lib/bare-broadcast.js';
import { startNotifyRelay, type RelayKind } from './lib/notify-relay.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const REPLAY_EVENTS = Number(process.env.BENCH_REPLAY_EVENTS ?? 1_000_000);
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.js');

const progress = (i: number): NewEvent => ({
  streamType: 'job',
  streamId: `job-${i % 997}`,
  type: 'step.progress',
  data: { jobId: `job-${i % 997}`, pipeline: 'bench', step: 'transcribe', attempt: 1, percent: i % 100 },
});

interface Server {
  readonly child: ChildProcess;
  readonly wsPort: number;
  readonly httpPort: number;
  rssBytes(): number;
  stop(): Promise<void>;
}

async function startServer(url: string): Promise<Server> {
  // BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the server.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve'], {
    env: {
      ...process.env,
      DATABASE_URL: url,
      PORT: '0',
      WS_PORT: '0',
      LOG_LEVEL: 'info',
      RUNLEDGER_MAX_CONNECTIONS_PER_IP: '100000',
      // Replay (c) measures history replay, not a snapshot.
      RUNLEDGER_REPLAY_LIMIT: String(Number.MAX_SAFE_INTEGER),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [httpPort, wsPort] = await new Promise<[number, number]>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /"httpPort":(\d+),"wsPort":(\d+)/.exec(text);
      if (match) resolve([Number(match[1]), Number(match[2])]);
    });
    child.once('exit', (code) => reject(new Error(`runledger serve exited with ${code}`)));
  });
  return {
    child,
    wsPort,
    httpPort,
    rssBytes: () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/** Waits until every client has the warm-up's events, then counts from the head. */
async function warmedUp(pool: pg.Pool, clients: Receivers): Promise<number> {
  const start = await head(pool);
  if (!(await until(async () => (await clients.status()).reached >= start, 30_000))) throw new Error('clients did not receive the warm-up');
  await clients.reset(start);
  return start;
}

/**
 * When each of the `length - 1` single-event blocks after `start` was sealed (`sealed_at`, PostgreSQL's
 * clock_timestamp() under the ordering lock, just before the commit record
 * and its flush), by position - start, in this thread's performance.now()
 * base: the "append committed" of the spec's dispatch latency, taken a little
 * early, so latencies from it are if anything too long.
 */
async function sealedAt(pool: pg.Pool, start: number, length: number): Promise<Float64Array> {
  const { rows } = await pool.query<{ position: string; ms: number }>(
    `select last_position as position, extract(epoch from sealed_at)::float8 * 1000 as ms
       from ledger.blocks where last_position > $1 and last_position <= $2`,
    [start, start + length - 1],
  );
  const at = new Float64Array(length);
  for (const row of rows) at[Number(row.position) - start] = row.ms - performance.timeOrigin;
  return at;
}

async function head(pool: pg.Pool): Promise<number> {
  return Number((await pool.query('select coalesce(max(last_position), 0) as h from ledger.blocks')).rows[0].h);
}

/**
 * Appends `rate` events/s for `seconds`, open loop; returns the scheduled time
 * of each offset after `start`, and records scheduled -> committed in `committed`.
 */
async function openLoopAppends(pool: pg.Pool, rate: number, start: number, committed: Latencies, seconds = SECONDS): Promise<Float64Array> {
  const scheduledAt = new Float64Array(rate * seconds + 1);
  await openLoop(rate, seconds, (i, scheduled) =>
    append(pool, [progress(i)]).then(([result]) => {
      committed.record(performance.now() - scheduled);
      if (result!.position - start < scheduledAt.length) scheduledAt[result!.position - start] = scheduled;
    }),
  );
  return scheduledAt;
}

function deliveries(arrivals: readonly Float64Array[], scheduledAt: Float64Array, latencies: Latencies): number {
  let delivered = 0;
  for (const client of arrivals) {
    for (let k = 1; k < scheduledAt.length; k += 1) {
      const arrived = client[k]!;
      if (arrived > 0) {
        delivered += 1;
        latencies.record(Math.max(0, arrived - scheduledAt[k]!));
      }
    }
  }
  return delivered;
}

/**
 * The stream's floor (lib/bare-broadcast.ts): `count` clients on the same
 * receivers, `rate` frames/s of the size the server sent, from a server with
 * nothing behind it.
 */
async function bareBroadcast(clients: Receivers, count: number, rate: number, frameBytes: number): Promise<{ latencies: Latencies; ratio: number }> {
  const bare = await startBareBroadcast();
  try {
    await clients.connect(`ws://127.0.0.1:${bare.port}/ws`, count, 0, rate * SECONDS + 1);
    // A 1 s warm-up at the rate, as for the server.
    await bare.run(rate, 1, 0, frameBytes);
    if (!(await until(async () => (await clients.status()).reached >= rate, 10_000))) throw new Error('clients did not receive the floor warm-up');
    await clients.reset(rate);
    const scheduledAt = await bare.run(rate, SECONDS, rate, frameBytes);
    await until(async () => (await clients.status()).reached >= rate * (SECONDS + 1), 10_000);
    const latencies = new Latencies();
    const arrivals = await clients.arrivals();
    const delivered = deliveries(arrivals, scheduledAt, latencies);
    await clients.close();
    return { latencies, ratio: delivered / (arrivals.length * (scheduledAt.length - 1)) };
  } finally {
    await bare.stop();
  }
}

/**
 * The dispatch floor with PostgreSQL in it (lib/notify-relay.ts): the floor
 * table's INSERT+NOTIFY, one writer, open loop at `rate`, relayed to `count`
 * clients as frames of `frameBytes`, from the notification (`notify`) or
 * from a read of the table after it (`read`). Latencies from each row's
 * clock_timestamp() as its INSERT returns it (right before that statement's
 * commit, as `sealed_at` is for an append) and from its scheduled send.
 */
async function relayFloor(
  url: string,
  clients: Receivers,
  count: number,
  rate: number,
  frameBytes: number,
  kind: RelayKind,
): Promise<{ fromCommit: Latencies; fromScheduled: Latencies }> {
  const relay = await startNotifyRelay(url, frameBytes, kind);
  const writer = new pg.Client({ connectionString: url });
  await writer.connect();
  const lastId = async () => Number((await writer.query('select coalesce(max(id), 0) as id from floor_events')).rows[0].id);
  const inserts = async (seconds: number, base: number, scheduledAt: Float64Array, committedAt: Float64Array) => {
    // One connection, each INSERT queued behind the previous one, as the INSERT+NOTIFY floor.
    let previous: Promise<unknown> = Promise.resolve();
    await openLoop(rate, seconds, (i, scheduled) => {
      previous = previous.then(() =>
        writer
          .query<{ id: string; ms: number }>(
            `insert into floor_events (type, data) values ($1, $2)
             returning id, extract(epoch from clock_timestamp())::float8 * 1000 as ms`,
            ['bench.relay', { i }],
          )
          .then((result) => {
            const k = Number(result.rows[0]!.id) - base;
            if (k < scheduledAt.length) {
              scheduledAt[k] = scheduled;
              committedAt[k] = result.rows[0]!.ms - performance.timeOrigin;
            }
          }),
      );
      return previous;
    });
  };
  try {
    let base = await lastId();
    const length = rate * SECONDS + 1;
    await clients.connect(`ws://127.0.0.1:${relay.port}/ws`, count, base, length);
    // A 1 s warm-up at the rate, as for the server.
    await inserts(1, base, new Float64Array(length), new Float64Array(length));
    base = await lastId();
    if (!(await until(async () => (await clients.status()).reached >= base, 10_000))) throw new Error('clients did not receive the relay warm-up');
    await clients.reset(base);
    const scheduledAt = new Float64Array(length);
    const committedAt = new Float64Array(length);
    await inserts(SECONDS, base, scheduledAt, committedAt);
    const last = await lastId();
    await until(async () => (await clients.status()).reached >= last, 10_000);
    const arrivals = await clients.arrivals();
    const fromCommit = new Latencies();
    const fromScheduled = new Latencies();
    deliveries(arrivals, committedAt, fromCommit);
    deliveries(arrivals, scheduledAt, fromScheduled);
    await clients.close();
    return { fromCommit, fromScheduled };
  } finally {
    await writer.end();
    await relay.stop();
  }
}

/**
 * runledger's live path without its server (lib/notify-relay.ts, `ledger`):
 * appends through `append(pool)`, a bare uWebSockets.js server that LISTENs
 * on the ledger's channel, reads what the deltas need and publishes the
 * deltas frame to `count` clients. Latencies from each block's sealed_at, as
 * (a)'s. Run before the server starts, so nothing else reads or projects.
 */
async function ledgerRelayFloor(url: string, pool: pg.Pool, clients: Receivers, count: number): Promise<Latencies> {
  const relay = await startNotifyRelay(url, 0, 'ledger');
  try {
    let start = await head(pool);
    await clients.connect(`ws://127.0.0.1:${relay.port}/ws`, count, start, 500 * SECONDS + 1);
    await openLoopAppends(pool, 500, start, new Latencies(), 1);
    start = await warmedUp(pool, clients);
    const scheduledAt = await openLoopAppends(pool, 500, start, new Latencies());
    const last = await head(pool);
    await until(async () => (await clients.status()).reached >= last, 10_000);
    const fromCommit = new Latencies();
    deliveries(await clients.arrivals(), await sealedAt(pool, start, scheduledAt.length), fromCommit);
    await clients.close();
    return fromCommit;
  } finally {
    await relay.stop();
  }
}

export default async function dispatchBench(context: BenchContext): Promise<BenchResult> {
  const url = await context.freshDatabase('dispatch');
  context.log(`floor: INSERT+NOTIFY -> LISTEN round trip at 500 events/s for ${SECONDS}s`);
  const floor = await notifyRoundTrip(url, 500, SECONDS);

  const pool = createPool(url, 16, 'runledger-bench');
  const clients = new Receivers();
  const dispatchClients = Number(process.env.BENCH_DISPATCH_CLIENTS ?? 100);
  context.log(`(a) floor: appends relayed by runledger's read and deltas in a bare uWebSockets.js server, ${dispatchClients} clients, 500/s for ${SECONDS}s`);
  const ledgerRelay = await ledgerRelayFloor(url, pool, clients, dispatchClients).catch(async (error: unknown) => {
    await clients.stop();
    await pool.end();
    throw error;
  });
  const server = await startServer(url);
  const wsUrl = `ws://127.0.0.1:${server.wsPort}/ws`;
  try {
    // The server's projector first projects what the relay's phase appended.
    const projectedTo = async (position: number) => Number((await pool.query('select position from projection.checkpoint')).rows[0].position) >= position;
    const relayed = await head(pool);
    if (!(await until(() => projectedTo(relayed), 60_000))) throw new Error('the projector did not catch up with the relay phase');
    // (d) first, on a fresh server, so garbage from the other phases does not hide the growth.
    context.log('(d) server RSS with 1,000 idle clients');
    let start = await head(pool);
    const rssIdleBefore = server.rssBytes();
    await clients.connect(`${wsUrl}?from=${start}`, 1000, start, 1);
    await sleep(1000);
    const rssIdleAfter = server.rssBytes();
    await clients.close();

    context.log(`(a) ${dispatchClients} clients, 500 events/s for ${SECONDS}s, after a 1 s warm-up at that rate`);
    await clients.connect(`${wsUrl}?from=${start}`, dispatchClients, start, 500 * SECONDS + 1);
    await openLoopAppends(pool, 500, start, new Latencies(), 1);
    start = await warmedUp(pool, clients);
    const dispatchBytesBefore = (await clients.status()).bytes;
    const appendCommitted = new Latencies();
    // The split: a LISTEN connection in this process notes when each
    // position's NOTIFY arrives (what the server's doorbell sees, less its
    // own event loop); the rest is the server's read, deltas and frames.
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    const rungAt = new Float64Array(500 * SECONDS + 1);
    const startOfRun = start;
    listener.on('notification', (message) => {
      const k = Number(message.payload) - startOfRun;
      if (k > 0 && k < rungAt.length) rungAt[k] = performance.now();
    });
    await listener.query('listen ledger_events');
    const metricsBefore = await scrape(server.httpPort);
    let scheduledAt = await openLoopAppends(pool, 500, start, appendCommitted);
    let last = await head(pool);
    await until(async () => (await clients.status()).reached >= last, 10_000);
    await listener.end();
    // The server's own split of NOTIFY -> client, from its histograms.
    const metricsAfter = await scrape(server.httpPort);
    const serverMs = (name: string, q: number) => {
      const seconds = quantileBetween(metricsBefore, metricsAfter, name, q);
      return seconds === null ? null : round(seconds * 1000, 3);
    };
    const dispatch = new Latencies();
    let arrivals = await clients.arrivals();
    const dispatchFrameBytes = Math.round(((await clients.status()).bytes - dispatchBytesBefore) / Math.max(1, deliveries(arrivals, scheduledAt, dispatch)));
    // The spec's measure: append committed -> delivered, from each block's seal.
    let committedAt = await sealedAt(pool, start, scheduledAt.length);
    const fromCommit = new Latencies();
    deliveries(arrivals, committedAt, fromCommit);
    const commitToDoorbell = new Latencies();
    for (let k = 1; k < committedAt.length; k += 1) {
      if (rungAt[k]! > 0 && committedAt[k]! > 0) commitToDoorbell.record(rungAt[k]! - committedAt[k]!);
    }
    const toDoorbell = new Latencies();
    const doorbellToClient = new Latencies();
    for (let k = 1; k < scheduledAt.length; k += 1) {
      if (rungAt[k]! > 0 && scheduledAt[k]! > 0) toDoorbell.record(rungAt[k]! - scheduledAt[k]!);
    }
    for (const client of arrivals) {
      for (let k = 1; k < scheduledAt.length; k += 1) {
        if (client[k]! > 0 && rungAt[k]! > 0) doorbellToClient.record(client[k]! - rungAt[k]!);
      }
    }
    await clients.close();
    context.log(`(a) floor: bare uWebSockets.js, ${dispatchFrameBytes}-byte frames to ${dispatchClients} clients, 500/s for ${SECONDS}s, no database`);
    const dispatchFloor = await bareBroadcast(clients, dispatchClients, 500, dispatchFrameBytes);
    context.log(`(a) floor: INSERT+NOTIFY relayed by a bare uWebSockets.js server to ${dispatchClients} clients, 500/s for ${SECONDS}s, from the payload`);
    const dispatchRelay = await relayFloor(url, clients, dispatchClients, 500, dispatchFrameBytes, 'notify');
    context.log(`(a) floor: the same, each NOTIFY followed by a read of the table`);
    const dispatchRelayRead = await relayFloor(url, clients, dispatchClients, 500, dispatchFrameBytes, 'read');

    context.log(`(b) 1,000 clients, 100 events/s for ${SECONDS}s, after a 1 s warm-up`);
    start = await head(pool);
    await clients.connect(`${wsUrl}?from=${start}`, 1000, start, 100 * SECONDS + 1);
    await openLoopAppends(pool, 100, start, new Latencies(), 1);
    start = await warmedUp(pool, clients);
    const bytesBefore = (await clients.status()).bytes;
    const fanoutCommitted = new Latencies();
    scheduledAt = await openLoopAppends(pool, 100, start, fanoutCommitted);
    last = await head(pool);
    await until(async () => (await clients.status()).reached >= last, 10_000);
    const fanout = new Latencies();
    arrivals = await clients.arrivals();
    const delivered = deliveries(arrivals, scheduledAt, fanout);
    committedAt = await sealedAt(pool, start, scheduledAt.length);
    const fanoutFromCommit = new Latencies();
    deliveries(arrivals, committedAt, fanoutFromCommit);
    const fanoutRatio = delivered / (arrivals.length * (scheduledAt.length - 1));
    const frameBytes = Math.round(((await clients.status()).bytes - bytesBefore) / Math.max(1, delivered));
    await clients.close();

    context.log(`(b) floor: bare uWebSockets.js, ${frameBytes}-byte frames to 1,000 clients, 100/s for ${SECONDS}s, no database`);
    const fanoutFloor = await bareBroadcast(clients, 1000, 100, frameBytes);

    context.log(`(c) replay from 0 over ${REPLAY_EVENTS} events: generating them`);
    const existing = await head(pool);
    const batch = Array.from({ length: 1000 }, (_, i) => progress(i));
    const toWrite = Math.max(0, REPLAY_EVENTS - existing);
    for (let done = 0; done < toWrite; ) {
      const writes = [];
      for (let w = 0; w < 4 && done < toWrite; w += 1) {
        const n = Math.min(1000, toWrite - done);
        writes.push(append(pool, n === 1000 ? batch : batch.slice(0, n)));
        done += n;
      }
      await Promise.all(writes);
    }
    const total = await head(pool);
    // The server's projector projects what was just written; replay is timed
    // once it has (history replay, not replay racing a projection catch-up
    // in the same process).
    context.log(`(c) waiting for the projector to reach ${total}`);
    if (!(await until(() => projectedTo(total), 600_000))) throw new Error('the projector did not catch up within 10 minutes');
    // The replay floor: a plain read of the same events, pages of 2,000 in
    // position order, parsed by pg as any client would (no deltas, no frames).
    context.log(`(c) floor: plain read of ${total} events`);
    const readStarted = performance.now();
    for (let after = 0; after < total; after += 2000) {
      await pool.query(`select ${EVENT_COLUMNS} from ledger.events_between($1, $2)`, [after, Math.min(after + 2000, total)]);
    }
    const readSeconds = (performance.now() - readStarted) / 1000;
    context.log(`(c) replaying ${total} events`);
    const replayStarted = performance.now();
    await clients.connect(`${wsUrl}?from=0`, 1, 0, 1);
    const replayed = async () => (await clients.status()).reached >= total;
    if (!(await until(replayed, 600_000))) throw new Error(`replay stopped at ${(await clients.status()).reached} of ${total}`);
    const replaySeconds = (performance.now() - replayStarted) / 1000;
    const replayBytes = (await clients.status()).bytes;
    context.log(`(c) received ${Math.round(replayBytes / 1e6)} MB of deltas frames in ${replaySeconds.toFixed(1)} s`);
    await clients.close();

    const json = {
      floor_notify_rtt_p50_ms: floor.p(50),
      floor_notify_rtt_p99_ms: floor.p(99),
      dispatch_p50_ms: dispatch.p(50),
      dispatch_p99_ms: dispatch.p(99),
      dispatch_ratio_p50: round(dispatch.p(50) / floor.p(50), 2),
      dispatch_from_commit_p50_ms: fromCommit.p(50),
      dispatch_from_commit_p99_ms: fromCommit.p(99),
      dispatch_from_commit_ratio_p50: round(fromCommit.p(50) / floor.p(50), 2),
      commit_to_notify_p50_ms: commitToDoorbell.p(50),
      dispatch_samples: dispatch.count,
      dispatch_floor_broadcast_p50_ms: dispatchFloor.latencies.p(50),
      dispatch_floor_broadcast_p99_ms: dispatchFloor.latencies.p(99),
      dispatch_floor_relay_p50_ms: dispatchRelay.fromCommit.p(50),
      dispatch_floor_relay_p99_ms: dispatchRelay.fromCommit.p(99),
      dispatch_floor_relay_scheduled_p50_ms: dispatchRelay.fromScheduled.p(50),
      dispatch_floor_relay_scheduled_p99_ms: dispatchRelay.fromScheduled.p(99),
      dispatch_floor_relay_read_p50_ms: dispatchRelayRead.fromCommit.p(50),
      dispatch_floor_relay_read_p99_ms: dispatchRelayRead.fromCommit.p(99),
      dispatch_floor_relay_read_scheduled_p50_ms: dispatchRelayRead.fromScheduled.p(50),
      dispatch_floor_relay_read_scheduled_p99_ms: dispatchRelayRead.fromScheduled.p(99),
      dispatch_from_commit_relay_read_ratio_p50: round(fromCommit.p(50) / dispatchRelayRead.fromCommit.p(50), 2),
      dispatch_floor_ledger_relay_p50_ms: ledgerRelay.p(50),
      dispatch_floor_ledger_relay_p99_ms: ledgerRelay.p(99),
      append_committed_p50_ms: appendCommitted.p(50),
      append_committed_p99_ms: appendCommitted.p(99),
      scheduled_to_notify_p50_ms: toDoorbell.p(50),
      notify_to_client_p50_ms: doorbellToClient.p(50),
      notify_to_client_p99_ms: doorbellToClient.p(99),
      server_read_p50_ms: serverMs('runledger_stream_read_seconds', 0.5),
      server_read_p99_ms: serverMs('runledger_stream_read_seconds', 0.99),
      server_send_p50_ms: serverMs('runledger_stream_send_seconds', 0.5),
      server_send_p99_ms: serverMs('runledger_stream_send_seconds', 0.99),
      fanout_clients: 1000,
      fanout_eps: 100,
      fanout_p50_ms: fanout.p(50),
      fanout_p99_ms: fanout.p(99),
      fanout_from_commit_p50_ms: fanoutFromCommit.p(50),
      fanout_from_commit_p99_ms: fanoutFromCommit.p(99),
      fanout_delivered_ratio: round(fanoutRatio, 5),
      fanout_append_committed_p50_ms: fanoutCommitted.p(50),
      fanout_append_committed_p99_ms: fanoutCommitted.p(99),
      fanout_frame_bytes: frameBytes,
      fanout_floor_p50_ms: fanoutFloor.latencies.p(50),
      fanout_floor_p99_ms: fanoutFloor.latencies.p(99),
      fanout_floor_delivered_ratio: round(fanoutFloor.ratio, 5),
      replay_events: total,
      replay_eps: Math.round(total / replaySeconds),
      replay_floor_eps: Math.round(total / readSeconds),
      replay_mb: Math.round(replayBytes / 1e6),
      rss_mb_per_1k_clients: round((rssIdleAfter - rssIdleBefore) / 1e6, 1),
    };
    return {
      rows: [
        ['floor: INSERT+NOTIFY -> LISTEN p50', json.floor_notify_rtt_p50_ms, 'ms', '500 events/s open loop'],
        ['floor: INSERT+NOTIFY -> LISTEN p99', json.floor_notify_rtt_p99_ms, 'ms'],
        ['(a) floor: bare uWS broadcast p50 / p99', `${json.dispatch_floor_broadcast_p50_ms} / ${json.dispatch_floor_broadcast_p99_ms}`, 'ms', `${dispatchClients} clients, 500 frames/s of ${dispatchFrameBytes} bytes, no database`],
        ['(a) floor: INSERT+NOTIFY relayed to the clients p50 / p99', `${json.dispatch_floor_relay_p50_ms} / ${json.dispatch_floor_relay_p99_ms}`, 'ms', 'from the row\'s clock_timestamp(), as sealed_at; lib/notify-relay.ts, frames from the payload'],
        ['(a) floor: the same from the scheduled INSERT p50 / p99', `${json.dispatch_floor_relay_scheduled_p50_ms} / ${json.dispatch_floor_relay_scheduled_p99_ms}`, 'ms', 'one writer, open loop'],
        ['(a) floor: relayed after a read of the table p50 / p99', `${json.dispatch_floor_relay_read_p50_ms} / ${json.dispatch_floor_relay_read_p99_ms}`, 'ms', 'NOTIFY as a doorbell (invariant 3), no deltas; target <= 2 / <= 10'],
        ['(a) floor: the same from the scheduled INSERT p50 / p99', `${json.dispatch_floor_relay_read_scheduled_p50_ms} / ${json.dispatch_floor_relay_read_scheduled_p99_ms}`, 'ms'],
        ['(a) the ledger\'s appends relayed by a bare server, p50 / p99', `${json.dispatch_floor_ledger_relay_p50_ms} / ${json.dispatch_floor_ledger_relay_p99_ms}`, 'ms', 'from sealed_at; append(pool), runledger\'s read and deltas frame, no sessions or projector'],
        ['(a) dispatch, append committed -> client, p50', json.dispatch_from_commit_p50_ms, 'ms', '100 clients, 500 events/s; from sealed_at; target <= 2'],
        ['(a) dispatch, append committed -> client, p99', json.dispatch_from_commit_p99_ms, 'ms', 'target <= 10'],
        ['(a) dispatch from commit p50 / floor p50', json.dispatch_from_commit_ratio_p50, 'x', 'target <= 3'],
        ['(a) dispatch from commit p50 / read-relay floor p50', json.dispatch_from_commit_relay_read_ratio_p50, 'x'],
        ['(a) scheduled append -> client p50', json.dispatch_p50_ms, 'ms', 'open loop, the append included'],
        ['(a) scheduled append -> client p99', json.dispatch_p99_ms, 'ms'],
        ['(a) scheduled append -> client p50 / floor p50', json.dispatch_ratio_p50, 'x'],
        ['(a) split: sealed_at -> NOTIFY at a LISTEN client p50', json.commit_to_notify_p50_ms, 'ms', 'commit record, flush, notify delivery'],
        ['(a) of which: scheduled -> append committed p50', json.append_committed_p50_ms, 'ms'],
        ['(a) of which: scheduled -> append committed p99', json.append_committed_p99_ms, 'ms'],
        ['(a) split: scheduled -> NOTIFY at a LISTEN client p50', json.scheduled_to_notify_p50_ms, 'ms', 'commit + notify delivery'],
        ['(a) split: NOTIFY -> WebSocket client p50', json.notify_to_client_p50_ms, 'ms', 'server: doorbell, read, deltas, frame'],
        ['(a) split: NOTIFY -> WebSocket client p99', json.notify_to_client_p99_ms, 'ms'],
        ['(a) server: NOTIFY -> events read p50 / p99', `${json.server_read_p50_ms} / ${json.server_read_p99_ms}`, 'ms', 'runledger_stream_read_seconds'],
        ['(a) server: read -> frames to 100 clients p50 / p99', `${json.server_send_p50_ms} / ${json.server_send_p99_ms}`, 'ms', 'runledger_stream_send_seconds'],
        ['(b) floor: bare uWS broadcast p50, 1,000 clients', json.fanout_floor_p50_ms, 'ms', `100 frames/s of ${frameBytes} bytes, no database`],
        ['(b) floor: bare uWS broadcast p99, 1,000 clients', json.fanout_floor_p99_ms, 'ms', `delivered ${json.fanout_floor_delivered_ratio}`],
        ['(b) fan-out, append committed -> client, p50', json.fanout_from_commit_p50_ms, 'ms', '1,000 clients, 100 events/s; from sealed_at'],
        ['(b) fan-out, append committed -> client, p99', json.fanout_from_commit_p99_ms, 'ms', 'target <= 20'],
        ['(b) fan-out, scheduled append -> client, p50', json.fanout_p50_ms, 'ms', 'open loop, the append included'],
        ['(b) fan-out, scheduled append -> client, p99', json.fanout_p99_ms, 'ms'],
        ['(b) fan-out delivered', json.fanout_delivered_ratio, 'ratio', 'target 1'],
        ['(b) of which: scheduled -> append committed p50 / p99', `${json.fanout_append_committed_p50_ms} / ${json.fanout_append_committed_p99_ms}`, 'ms'],
        [`(c) floor: plain read of the ${total} events`, json.replay_floor_eps, 'events/s', 'pages of 2,000, pg parsing'],
        [`(c) replay from 0 over ${total} events`, json.replay_eps, 'events/s', 'target >= 200,000'],
        ['(d) server RSS per 1,000 idle clients', json.rss_mb_per_1k_clients, 'MB'],
      ],
      json,
    };
  } finally {
    await clients.stop();
    await server.stop();
    await pool.end();
  }
}
