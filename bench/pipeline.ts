// Pipeline step throughput against the floor of the same run:
//  - floor: graphile-worker alone running three-step chains, each handler
//    adding the next job (no ledger, no markers);
//  - runledger: three-step no-op pipelines end to end (step.started in its own
//    transaction; marker + events + next step's add_job in the step's).
//  - experiment: the floor's chains, each handler first committing a start
//    marker (INSERT + NOTIFY into a bare table, concurrent starts committed
//    together as runledger's are): what a commit before the handler costs
//    graphile-worker, with no ledger, no ordering lock and no pipeline state.
// All start from the same number of queued first steps on a fresh database,
// with the same concurrency and poll interval, and are timed from starting the
// worker to the last step.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger, run, type WorkerEvents } from 'graphile-worker';
import { z } from 'zod';
import { batched } from '../src/ops/batched.js';
import { readConfig } from '../src/ops/config.js';
import { createLogger } from '../src/ops/logger.js';
import { metrics } from '../src/ops/metrics/registry.js';
import { createPool } from '../src/ops/pool.js';
import { createJob, definePipeline, registerPipeline, startWorker } from '../src/pipelines/index.js';
import type { BenchContext, BenchResult } from './lib/context.js';
import { FLOOR_SQL } from './lib/floor.js';
import { round } from './lib/stats.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const POLL_MS = 1000;
const STEPS = 3;
// The machine is shared: rounds alternate floor and runledger, and each side
// reports its best round, so a burst of someone else's load hurts neither alone.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

const silentGraphile = new Logger(() => () => {});

/** graphile-worker alone; with `startMarker`, each handler first commits a marker row, group-committed. */
async function floor(url: string, startMarker = false): Promise<number> {
  const pool = createPool(url, CONCURRENCY + 4, 'bench-floor');
  pool.on('connect', (client) => client.on('error', () => {}));
  if (startMarker) await pool.query(FLOOR_SQL);
  const mark = batched({
    together: async (steps: number[]) => {
      await pool.query(`insert into floor_events (type, data) select 'bench.started', jsonb_build_object('step', s) from unnest($1::int[]) s`, [steps]);
      return steps.map(() => undefined);
    },
  });
  await pool.query(
    `select graphile_worker.add_jobs(array(
       select json_populate_record(null::graphile_worker.job_spec, json_build_object('identifier', 'chain', 'payload', json_build_object('step', 1)))
         from generate_series(1, $1)))`,
    [JOBS],
  );
  let done = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const events = new EventEmitter() as WorkerEvents;
  events.on('job:success', () => {
    done += 1;
    if (done === JOBS * STEPS) finished();
  });
  const started = performance.now();
  const runner = await run({
    pgPool: pool,
    concurrency: CONCURRENCY,
    pollInterval: POLL_MS,
    noHandleSignals: true,
    logger: silentGraphile,
    events,
    crontab: '',
    taskList: {
      chain: async (payload, helpers) => {
        const { step } = payload as { step: number };
        if (startMarker) await mark(step);
        if (step < STEPS) await helpers.addJob('chain', { step: step + 1 });
      },
    },
  });
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  await pool.end();
  return (JOBS * STEPS) / seconds;
}

/** A group commit's means over one run, from the worker's runledger_group_commit_* histograms (_sum / _count). */
interface GroupCommits {
  readonly items: number;
  readonly waitMs: number;
  readonly commitMs: number;
}

async function groupCommits(batch: string): Promise<GroupCommits> {
  const mean = async (histogram: typeof metrics.groupCommitSeconds) => {
    const { name, values } = await histogram.get();
    const of = (suffix: string) => values.find((v) => v.metricName === `${name}${suffix}` && v.labels.batch === batch)?.value ?? NaN;
    return of('_sum') / of('_count');
  };
  return {
    items: round(await mean(metrics.groupCommitItems), 2),
    waitMs: round((await mean(metrics.groupCommitWaitSeconds)) * 1000, 2),
    commitMs: round((await mean(metrics.groupCommitSeconds)) * 1000, 2),
  };
}

async function runledger(url: string, context: BenchContext): Promise<{ rate: number; starts: GroupCommits; finishes: GroupCommits }> {
  const pipeline = registerPipeline(
    definePipeline({
      name: 'bench_noop',
      input: z.object({ i: z.number() }),
      steps: [
        { name: 'one', handler: async () => null },
        { name: 'two', handler: async () => null },
        { name: 'three', handler: async () => null },
      ],
    }),
  );
  const pool = createPool(url, 10, 'bench-runledger');
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < JOBS) await createJob(pool, pipeline.name, { i: next++ });
    }),
  );
  context.log(`runledger: ${JOBS} jobs queued; starting the worker`);
  metrics.registry.resetMetrics();
  const started = performance.now();
  const worker = await startWorker({
    url,
    config: { ...readConfig({}), workerConcurrency: CONCURRENCY },
    logger: createLogger('warn'),
    pipelines: [pipeline],
    crontab: false,
    pollIntervalMs: POLL_MS,
  });
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from pipelines.jobs where state = 'completed'`);
    if (rows[0]!.n >= JOBS) break;
    await sleep(20);
  }
  const seconds = (performance.now() - started) / 1000;
  await worker.stop();
  await pool.end();
  return { rate: (JOBS * STEPS) / seconds, starts: await groupCommits('step_start'), finishes: await groupCommits('step_finish') };
}

export default async function pipelineBench(context: BenchContext): Promise<BenchResult> {
  let floorRate = 0;
  let markedRate = 0;
  let best: Awaited<ReturnType<typeof runledger>> | undefined;
  for (let round = 1; round <= ROUNDS; round += 1) {
    context.log(`round ${round}/${ROUNDS} floor: graphile-worker three-step chains, ${JOBS} chains, concurrency ${CONCURRENCY}`);
    const f = await floor(await context.freshDatabase('pipeline_floor'));
    context.log(`round ${round}/${ROUNDS} runledger: three-step no-op pipelines, ${JOBS} jobs, concurrency ${CONCURRENCY}`);
    const r = await runledger(await context.freshDatabase('pipeline_runledger'), context);
    if (!best || r.rate > best.rate) best = r;
    context.log(`round ${round}/${ROUNDS} experiment: the floor's chains with a group-committed start marker before each handler`);
    const m = await floor(await context.freshDatabase('pipeline_marked'), true);
    context.log(`  floor ${Math.round(f)} steps/s, runledger ${Math.round(r.rate)} steps/s, floor + start marker ${Math.round(m)} steps/s`);
    floorRate = Math.max(floorRate, f);
    markedRate = Math.max(markedRate, m);
  }
  const { rate, starts, finishes } = best!;
  const json = {
    floor_graphile_chain_steps_per_s: Math.round(floorRate),
    steps_per_s: Math.round(rate),
    steps_ratio: round(rate / floorRate, 3),
    start_marker_steps_per_s: Math.round(markedRate),
    start_marker_ratio: round(markedRate / floorRate, 3),
    start_commit_items: starts.items,
    start_commit_wait_ms: starts.waitMs,
    start_commit_ms: starts.commitMs,
    finish_commit_items: finishes.items,
    finish_commit_wait_ms: finishes.waitMs,
    finish_commit_ms: finishes.commitMs,
  };
  const setup = `${JOBS} x 3 steps, concurrency ${CONCURRENCY}, best of ${ROUNDS}`;
  return {
    rows: [
      ['floor: graphile-worker 3-step chains', json.floor_graphile_chain_steps_per_s, 'steps/s', setup],
      ['runledger 3-step pipelines', json.steps_per_s, 'steps/s', 'target >= 1,000'],
      ['runledger / floor', json.steps_ratio, 'x', 'target >= 0.8'],
      ['step starts: items per group commit', json.start_commit_items, 'steps', 'runledger_group_commit_items{batch="step_start"}, mean'],
      ['step starts: wait for the commit in flight', json.start_commit_wait_ms, 'ms', 'mean'],
      ['step starts: their commit', json.start_commit_ms, 'ms', 'mean; round trip, PostgreSQL work, ordering lock, WAL flush'],
      ['step finishes: items per group commit', json.finish_commit_items, 'steps', 'mean'],
      ['step finishes: wait for the commit in flight', json.finish_commit_wait_ms, 'ms', 'mean'],
      ['step finishes: their commit', json.finish_commit_ms, 'ms', 'mean'],
      ['experiment: floor + a start marker committed before each handler', json.start_marker_steps_per_s, 'steps/s', `${json.start_marker_ratio}x floor; INSERT+NOTIFY, group-committed`],
    ],
    json,
  };
}
