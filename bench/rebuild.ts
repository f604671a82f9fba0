// Projection rebuild speed over a demo-shaped ledger (default 1,000,000
// events; BENCH_REBUILD_EVENTS for a quicker run), beside the floor of the
// same run: reading the same events page by page with plain pg.
import { performance } from 'node:perf_hooks';
import { read } from '../src/ledger/read.js';
import { createPool } from '../src/ops/pool.js';
import { modelAt, rebuild } from '../src/projections/rebuild.js';
import type { BenchContext, BenchResult } from './lib/context.js';
import { appendDemoEvents, demoEvents } from './lib/demo-events.js';
import { round } from './lib/stats.js';

const EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? 1_000_000);
const PAGE = 20_000;

export default async function rebuildBench(context: BenchContext): Promise<BenchResult> {
  const url = await context.freshDatabase('rebuild');
  const pool = createPool(url, 4, 'runledger-bench');
  try {
    context.log(`appending ${EVENTS} demo events in batches of 1000`);
    const appendStarted = performance.now();
    await appendDemoEvents(pool, demoEvents({ seed: 1 }), EVENTS, 1000);
    const appendSeconds = (performance.now() - appendStarted) / 1000;
    await pool.query('vacuum analyze ledger.events');

    context.log('floor: reading every event with plain pg, pages of 20000');
    let started = performance.now();
    let after = 0;
    for (;;) {
      const page = await read(pool, { after, limit: PAGE });
      if (page.length === 0) break;
      after = page[page.length - 1]!.position;
    }
    const floorSeconds = (performance.now() - started) / 1000;

    context.log('replay into memory only (read + reduce)');
    started = performance.now();
    const { model } = await modelAt(pool);
    const replaySeconds = (performance.now() - started) / 1000;
    // Heap holding the whole model in memory, as a rebuild does.
    const heapMb = Math.round(process.memoryUsage().heapUsed / 1e6);

    context.log('rebuild: replay, write fresh tables, swap');
    const result = await rebuild(pool, {});
    const rebuildSeconds = result!.ms / 1000;
    if (result!.events !== EVENTS) throw new Error(`rebuild replayed ${result!.events} events, expected ${EVENTS}`);

    const json = {
      events: EVENTS,
      rebuild_eps: Math.round(EVENTS / rebuildSeconds),
      rebuild_seconds: round(rebuildSeconds, 2),
      replay_in_memory_eps: Math.round(EVENTS / replaySeconds),
      floor_read_eps: Math.round(EVENTS / floorSeconds),
      rebuild_vs_floor: round(floorSeconds / rebuildSeconds, 3),
      jobs: Object.keys(model.jobs).length,
      steps: Object.keys(model.steps).length,
      append_eps: Math.round(EVENTS / appendSeconds),
      model_heap_mb: heapMb,
    };
    return {
      rows: [
        ['floor: read all events (pg, pages)', json.floor_read_eps, 'events/s', `${EVENTS} events`],
        ['replay into memory (read + reduce)', json.replay_in_memory_eps, 'events/s'],
        ['rebuild (replay + write + swap)', json.rebuild_eps, 'events/s', 'target >= 50,000'],
        ['rebuild / floor', json.rebuild_vs_floor, 'x', 'of the plain read rate, same run'],
        ['rebuild time', json.rebuild_seconds, 's', `${json.jobs} jobs, ${json.steps} steps`],
        ['heap with the model in memory', json.model_heap_mb, 'MB'],
        ['setup: demo appends', json.append_eps, 'events/s', 'batches of 1000, one writer'],
      ],
      json,
    };
  } finally {
    await pool.end();
  }
}
