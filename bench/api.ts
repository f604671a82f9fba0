// The operators' API against the raw floor of the same run:
//  - floor: INSERT into a bare table whose trigger calls pg_notify, one
//    single-row transaction per call, 16 writers;
//  - POST /api/jobs from 16 concurrent HTTP clients (keep-alive) against a
//    `runledger serve` child (log level info, one log line per request,
//    no worker: the jobs stay queued), with p50/p99 latency;
//  - GET /api/jobs p50/p99 with 100,000 jobs in the read model: the first
//    page, a status filter, a pipeline+status filter and a later page.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from '../src/ops/database.js';
import type { BenchContext, BenchResult } from './lib/context.js';
import { FLOOR_SQL } from './lib/floor.js';
import { Latencies, round } from './lib/stats.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.js');
const CLIENTS = 16;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const LIST_JOBS = 100_000;
const LIST_CLIENTS = 4;

/** Runs `op` on `clients` concurrent loops for SECONDS; returns ops/s and their latencies. */
async function closedLoop(clients: number, op: (i: number) => Promise<unknown>): Promise<{ rate: number; latencies: Latencies }> {
  const latencies = new Latencies();
  let done = 0;
  const until = Date.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      for (let i = w; Date.now() < until; i += clients) {
        const t0 = performance.now();
        await op(i);
        latencies.record(performance.now() - t0);
        done += 1;
      }
    }),
  );
  return { rate: done / ((performance.now() - started) / 1000), latencies };
}

async function startServe(url: string): Promise<{ child: ChildProcess; base: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { ...process.env, DATABASE_URL: url, PORT: String(port), WS_PORT: '0', LOG_LEVEL: 'info', RUNLEDGER_WRITE_RATE: '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null) throw new Error(`runledger serve exited with ${child.exitCode}`);
    const ok = await fetch(`${base}/api/pipelines`).then((r) => r.ok, () => false);
    if (ok) break;
    if (tries > 300) throw new Error('runledger serve did not answer within 30 s');
    await sleep(100);
  }
  return {
    child,
    base,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function expectOk(res: Response, what: string): Promise<void> {
  const body = await res.text();
  if (!res.ok) throw new Error(`${what}: ${res.status} ${body.slice(0, 300)}`);
}

export default async function apiBench(context: BenchContext): Promise<BenchResult> {
  const url = await context.freshDatabase('api');
  const pool = new pg.Pool({ connectionString: url, max: CLIENTS, application_name: 'runledger-bench' });
  await pool.query(FLOOR_SQL);

  context.log(`floor: INSERT + NOTIFY trigger, ${CLIENTS} writers, ${SECONDS}s`);
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => pool.connect()));
  const floor = await closedLoop(CLIENTS, (i) =>
    clients[i % CLIENTS]!.query('insert into floor_events (type, data) values ($1, $2)', ['bench.floor', { pipeline: 'content_agents', prompt: `job ${i}` }]),
  );
  for (const client of clients) client.release();

  const serve = await startServe(url);
  try {
    context.log(`POST /api/jobs, ${CLIENTS} clients, ${SECONDS}s`);
    const create = await closedLoop(CLIENTS, async (i) =>
      expectOk(
        await fetch(`${serve.base}/api/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ pipeline: 'content_agents', input: { prompt: `bench job ${i}` } }),
        }),
        'POST /api/jobs',
      ),
    );
    context.log(`POST /api/jobs with Idempotency-Key, ${CLIENTS} clients, ${SECONDS}s`);
    const createKeyed = await closedLoop(CLIENTS, async (i) =>
      expectOk(
        await fetch(`${serve.base}/api/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `bench-${i}` },
          body: JSON.stringify({ pipeline: 'content_agents', input: { prompt: `keyed bench job ${i}` } }),
        }),
        'POST /api/jobs (keyed)',
      ),
    );

    context.log(`read model: ${LIST_JOBS} jobs`);
    // Synthetic rows straight into the read model, after the projector has
    // projected the jobs created above (their offsets come first).
    await pool.query(
      `insert into projection.jobs (id, pipeline, status, priority, steps, current_steps, completed_steps, total_steps, progress,
                                    attempts, created_at, created_offset, updated_offset)
       select 'bench-' || i, (array['video_clip', 'content_agents'])[1 + i % 2], (array['queued', 'running', 'completed', 'failed', 'cancelled'])[1 + i % 5],
              (array['high', 'normal', 'background'])[1 + i % 3], '{a,b}', '{}', 0, 2, 0, 1,
              now() - make_interval(secs => ${LIST_JOBS} - i), 100000000 + i, 100000000 + i
         from generate_series(1, ${LIST_JOBS}) i`,
    );
    await pool.query('analyze projection.jobs');
    const cursorPage = (await (await fetch(`${serve.base}/api/jobs?limit=500`)).json()) as { next: string };
    const queries = ['/api/jobs', '/api/jobs?status=failed', '/api/jobs?pipeline=video_clip&status=queued&limit=100', `/api/jobs?cursor=${cursorPage.next}`];
    context.log(`GET /api/jobs (${queries.length} shapes), ${LIST_CLIENTS} clients, ${SECONDS}s`);
    const list = await closedLoop(LIST_CLIENTS, async (i) => expectOk(await fetch(serve.base + queries[i % queries.length]!), 'GET /api/jobs'));

    const json = {
      floor_insert_notify_tps: Math.round(floor.rate),
      api_create_rps: Math.round(create.rate),
      api_create_ratio: round(create.rate / floor.rate, 3),
      api_create_p50_ms: create.latencies.p(50),
      api_create_p99_ms: create.latencies.p(99),
      api_create_idempotent_rps: Math.round(createKeyed.rate),
      api_create_idempotent_p99_ms: createKeyed.latencies.p(99),
      api_list_rps: Math.round(list.rate),
      api_list_p50_ms: list.latencies.p(50),
      api_list_p99_ms: list.latencies.p(99),
    };
    return {
      rows: [
        ['floor: INSERT+NOTIFY commits', json.floor_insert_notify_tps, 'tx/s', `${CLIENTS} writers`],
        ['POST /api/jobs', json.api_create_rps, 'req/s', `${CLIENTS} HTTP clients`],
        ['POST /api/jobs / floor', json.api_create_ratio, 'x', 'each job: row + step job + 2 events'],
        ['POST /api/jobs p50', json.api_create_p50_ms, 'ms'],
        ['POST /api/jobs p99', json.api_create_p99_ms, 'ms'],
        ['POST /api/jobs + Idempotency-Key', json.api_create_idempotent_rps, 'req/s', `${CLIENTS} HTTP clients`],
        ['POST /api/jobs + Idempotency-Key p99', json.api_create_idempotent_p99_ms, 'ms'],
        ['GET /api/jobs', json.api_list_rps, 'req/s', `${LIST_CLIENTS} clients, ${LIST_JOBS.toLocaleString('en')} jobs in the read model`],
        ['GET /api/jobs p50', json.api_list_p50_ms, 'ms'],
        ['GET /api/jobs p99', json.api_list_p99_ms, 'ms', 'first page, status filter, pipeline+status, a cursor page'],
      ],
      json,
    };
  } finally {
    await serve.stop();
    await pool.end();
  }
}
