// Flat cost as the ledger grows (issue 9). Builds a demo-shaped ledger of
// BENCH_SCALE_EVENTS events (default 10,000,000) whose retention task ran as
// it grew (job.archived for finished jobs beyond the newest 50, every 1,000
// events; 100 jobs in flight), then measures, in the same run:
//  - rebuild: events/s against the floor (reading every event with plain pg)
//    and the peak heap while it runs;
//  - the snapshot a dashboard loads first: bytes and fetch time;
//  - single-event appends and stream replay on that ledger against a fresh,
//    nearly empty one.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { append } from '../src/ledger/append.js';
import { head, read } from '../src/ledger/read.js';
import type { NewEvent } from '../src/ledger/types.js';
import { createPool } from '../src/ops/pool.js';
import { rebuild } from '../src/projections/rebuild.js';
import { snapshot } from '../src/projections/snapshot.js';
import { readRange } from '../src/stream/feed.js';
import type { TypedNewEvent } from '../src/events/catalogue.js';
import type { BenchContext, BenchResult } from './lib/context.js';
import { demoEvents } from './lib/demo-events.js';
import { round } from './lib/stats.js';

const EVENTS = Number(process.env.BENCH_SCALE_EVENTS ?? 10_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BUILD_BATCH = 5000;
const PAGE = 20_000;
const WRITERS = 4;
/** Events replayed from near the head, on both ledgers. */
const REPLAY = Math.min(200_000, Math.floor(EVENTS / 2));
const REPLAY_PAGE = 1000;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const demo = () => demoEvents({ seed: 1, concurrentJobs: 100, archive: { every: 1000, keepFinished: 50 } });

/** Appends `count` events of `source`, generating the next batch while the previous one is appended. */
async function build(db: pg.Pool, source: Iterator<TypedNewEvent>, count: number, log: (m: string) => void): Promise<void> {
  let pending: Promise<unknown> = Promise.resolve();
  let nextLog = 1_000_000;
  for (let done = 0; done < count; ) {
    const batch: TypedNewEvent[] = [];
    while (batch.length < Math.min(BUILD_BATCH, count - done)) batch.push(source.next().value as TypedNewEvent);
    await pending;
    pending = append(db, batch);
    done += batch.length;
    if (done >= nextLog) {
      log(`  ${done} events`);
      nextLog += 1_000_000;
    }
  }
  await pending;
}

/** Single-event appends, each its own transaction, WRITERS at once, for SECONDS: events/s. */
async function appendRate(url: string): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      const client = new pg.Client({ connectionString: url, application_name: 'runledger-bench' });
      await client.connect();
      return client;
    }),
  );
  try {
    let done = 0;
    const until = Date.now() + SECONDS * 1000;
    const started = performance.now();
    await Promise.all(
      clients.map(async (client, w) => {
        for (let i = w; Date.now() < until; i += WRITERS) {
          const event: NewEvent = {
            streamType: 'job', streamId: `bench-${i % 997}`, type: 'step.progress',
            data: { jobId: `bench-${i % 997}`, pipeline: 'video_clip', step: 'transcribe', attempt: 1, percent: i % 100 },
          };
          await append(client, [event]);
          done += 1;
        }
      }),
    );
    return done / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

/** What a stream client catching up costs: read the last `count` events in pages, map them to deltas, serialise frames. */
async function replayRate(db: pg.Pool, count: number): Promise<number> {
  const end = await head(db);
  const started = performance.now();
  let bytes = 0;
  for (let after = end - count; after < end; after += REPLAY_PAGE) {
    bytes += (await readRange(db, after, Math.min(end, after + REPLAY_PAGE))).frame().length;
  }
  if (bytes === 0) throw new Error('replay read nothing');
  return count / ((performance.now() - started) / 1000);
}

export default async function scaleBench(context: BenchContext): Promise<BenchResult> {
  const url = await context.freshDatabase('scale');
  const emptyUrl = await context.freshDatabase('scale_empty');
  const pool = createPool(url, 6, 'runledger-bench');
  const emptyPool = createPool(emptyUrl, 4, 'runledger-bench');
  try {
    context.log(`building a ledger of ${EVENTS} demo events (batches of ${BUILD_BATCH}, through append)`);
    let started = performance.now();
    await build(pool, demo(), EVENTS, context.log);
    const buildSeconds = (performance.now() - started) / 1000;
    context.log(`  built in ${round(buildSeconds, 1)} s; vacuum analyze`);
    await pool.query('vacuum analyze ledger.events');

    context.log('floor: reading every event with plain pg, pages of 20000');
    started = performance.now();
    for (let after = 0; ; ) {
      const page = await read(pool, { after, limit: PAGE });
      if (page.length === 0) break;
      after = page[page.length - 1]!.position;
    }
    const floorSeconds = (performance.now() - started) / 1000;

    context.log('rebuild from 0 (archived jobs streamed out as their job.archived passes)');
    const heapBefore = process.memoryUsage().heapUsed;
    let peakHeap = heapBefore;
    const sampler = setInterval(() => {
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }, 25);
    const result = await rebuild(pool, {});
    clearInterval(sampler);
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    const rebuildSeconds = result!.ms / 1000;
    if (result!.events !== EVENTS) throw new Error(`rebuild replayed ${result!.events} events, expected ${EVENTS}`);

    context.log('snapshot: the live window, as a dashboard loads it (read + JSON), 7 times');
    const times: number[] = [];
    let bytes = 0;
    let jobs = 0;
    let active = 0;
    for (let i = 0; i < 7; i += 1) {
      const t = performance.now();
      const taken = await snapshot(pool);
      bytes = Buffer.byteLength(JSON.stringify(taken));
      times.push(performance.now() - t);
      jobs = Object.keys(taken.model.jobs).length;
      active = Object.values(taken.model.jobs).filter((job) => job.status === 'queued' || job.status === 'running').length;
    }
    const { rows: archivedRows } = await pool.query<{ n: string }>('select count(*) as n from projection.archive_jobs');

    context.log(`appends: single-event, ${WRITERS} writers, ${SECONDS}s each, empty and ${EVENTS}-event ledgers alternately, twice`);
    const emptyRates: number[] = [];
    const scaleRates: number[] = [];
    for (let round = 0; round < 2; round += 1) {
      emptyRates.push(await appendRate(emptyUrl));
      scaleRates.push(await appendRate(url));
    }

    context.log(`replay: the last ${REPLAY} events as a stream client catching up, on both ledgers, twice`);
    await build(emptyPool, demo(), REPLAY, () => {});
    await emptyPool.query('vacuum analyze ledger.events');
    const emptyReplay: number[] = [];
    const scaleReplay: number[] = [];
    for (let round = 0; round < 2; round += 1) {
      emptyReplay.push(await replayRate(emptyPool, REPLAY));
      scaleReplay.push(await replayRate(pool, REPLAY));
    }

    const best = (values: number[]) => Math.max(...values);
    const json = {
      scale_events: EVENTS,
      build_seconds: round(buildSeconds, 1),
      build_eps: Math.round(EVENTS / buildSeconds),
      floor_read_eps: Math.round(EVENTS / floorSeconds),
      rebuild_eps: Math.round(EVENTS / rebuildSeconds),
      rebuild_ratio: round(floorSeconds / rebuildSeconds, 3),
      rebuild_heap_mb: Math.round(peakHeap / 1e6),
      rebuild_heap_before_mb: Math.round(heapBefore / 1e6),
      snapshot_bytes: bytes,
      snapshot_ms: round(median(times), 1),
      snapshot_jobs: jobs,
      snapshot_active_jobs: active,
      archived_jobs: Number(archivedRows[0]!.n),
      append_empty_eps: Math.round(best(emptyRates)),
      append_at_scale_eps: Math.round(best(scaleRates)),
      append_at_scale_ratio: round(best(scaleRates) / best(emptyRates), 3),
      replay_empty_eps: Math.round(best(emptyReplay)),
      replay_at_scale_eps: Math.round(best(scaleReplay)),
      replay_at_scale_ratio: round(best(scaleReplay) / best(emptyReplay), 3),
    };
    return {
      rows: [
        ['ledger built', json.build_seconds, 's', `${EVENTS} events, ${json.build_eps} events/s through append`],
        ['floor: read all events (pg, pages)', json.floor_read_eps, 'events/s'],
        ['rebuild', json.rebuild_eps, 'events/s'],
        ['rebuild / floor', json.rebuild_ratio, 'x', 'target >= 0.8, same run'],
        ['rebuild peak heap', json.rebuild_heap_mb, 'MB', `target <= 300 (${json.rebuild_heap_before_mb} MB before)`],
        ['snapshot size', json.snapshot_bytes, 'bytes', `target <= 1 MB; ${jobs} jobs, ${active} active, ${json.archived_jobs} archived`],
        ['snapshot fetch (read + JSON)', json.snapshot_ms, 'ms', 'median of 7, target <= 100'],
        ['append, empty ledger', json.append_empty_eps, 'events/s', `single-event, ${WRITERS} writers, best of 2`],
        ['append, at scale', json.append_at_scale_eps, 'events/s', 'best of 2'],
        ['append at scale / empty', json.append_at_scale_ratio, 'x', 'target >= 0.9'],
        ['replay, small ledger', json.replay_empty_eps, 'events/s', `last ${REPLAY} events, best of 2`],
        ['replay, at scale', json.replay_at_scale_eps, 'events/s', 'best of 2'],
        ['replay at scale / small', json.replay_at_scale_ratio, 'x', 'target >= 0.9'],
      ],
      json,
    };
  } finally {
    await pool.end();
    await emptyPool.end();
  }
}
