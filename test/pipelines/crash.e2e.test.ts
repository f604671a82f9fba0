import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createJob, startSweeper, type RunningWorker } from '../../src/pipelines/index.js';
import { registerCrashPipeline } from '../fixtures/crash-pipeline.js';
import { spawnNode, type LineChild } from '../helpers/child.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { countEvents, eventually, jobEvents, sequence, silent, startTestWorker, testConfig, untilState } from './helpers.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/crash-worker.js');

type Child = LineChild;

const spawnWorker = (url: string, env: Record<string, string>): Child => spawnNode(CHILD, { DATABASE_URL: url, ...env });

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

describe('a worker killed mid-step', () => {
  let db: TestDatabase;
  const children: ChildProcess[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  before(async () => {
    db = await createTestDatabase();
    await db.pool.query('create table crash_effects (job_id uuid not null, pid int not null)');
    registerCrashPipeline(false);
  });
  after(async () => {
    for (const child of children) {
      child.kill('SIGKILL');
      await exited(child);
    }
    for (const stop of stoppers.reverse()) await stop();
    await db.drop();
  });

  it('is declared offline, its step re-runs elsewhere, the effect exists once and the job completes', async () => {
    const a = spawnWorker(db.url, { CRASH_HOLD: '1' });
    children.push(a.process);
    await eventually(() => a.lines.some((l) => l.startsWith('ready ')), 30_000, 'child worker ready');
    const childWorkerId = a.lines.find((l) => l.startsWith('ready '))!.slice('ready '.length);

    const { jobId } = await createJob(db.pool, 'crashy', {});
    await eventually(() => a.lines.includes(`holding ${jobId}`), 30_000, 'the child inside its step transaction');
    // The row is written but uncommitted; the graphile-worker job is locked by the child.
    const locked = await db.pool.query('select locked_by from graphile_worker._private_jobs where key = $1', [`rl:${jobId}:effect`]);
    assert.notEqual(locked.rows[0].locked_by, null);
    a.process.kill('SIGKILL');
    await exited(a.process);

    const sweeper = startSweeper({ pool: db.pool, config: { ...testConfig, workerTtlMs: 1000 }, logger: silent, intervalMs: 200 });
    stoppers.push(() => sweeper.stop());
    const b: RunningWorker = await startTestWorker(db.url, { config: { ...testConfig, workerTtlMs: 1000 } });
    stoppers.push(() => b.stop());

    await untilState(db.pool, jobId, 'completed', 60_000);
    const effects = await db.pool.query('select pid from crash_effects where job_id = $1', [jobId]);
    assert.equal(effects.rows.length, 1, 'the effect exists exactly once');
    assert.equal(effects.rows[0].pid, process.pid, 'written by the surviving worker');
    assert.equal(await countEvents(db.pool, 'worker.offline', `data->>'workerId' = $2 and (data->>'releasedSteps')::int = 1`, [childWorkerId]), 1);
    const events = await jobEvents(db.pool, jobId);
    const starts = events.filter((e) => e.type === 'step.started' && e.data.step === 'effect');
    assert.deepEqual(starts.map((e) => e.data.workerId), [childWorkerId, b.workerId]);
    const offline = (await db.pool.query(`select position from ledger.events where type = 'worker.offline'`)).rows[0].position;
    assert.ok(starts[1]!.position > Number(offline), 're-run after the worker was declared offline');
    assert.deepEqual(sequence(events).filter((s) => s.startsWith('step.completed')), ['step.completed:effect', 'step.completed:after']);
    assert.equal(sequence(events).at(-1), 'job.completed');
  });

  it('a child stopped with SIGTERM appends worker.stopped and exits cleanly', async () => {
    const c = spawnWorker(db.url, { CRASH_HOLD: '0' });
    children.push(c.process);
    await eventually(() => c.lines.some((l) => l.startsWith('ready ')), 30_000, 'child worker ready');
    const workerId = c.lines.find((l) => l.startsWith('ready '))!.slice('ready '.length);
    c.process.kill('SIGTERM');
    await exited(c.process);
    assert.equal(c.process.exitCode, 0, `the child ended with signal ${c.process.signalCode}`);
    assert.equal(await countEvents(db.pool, 'worker.stopped', `data->>'workerId' = $2`, [workerId]), 1);
    const { rows } = await db.pool.query('select state from pipelines.workers where worker_id = $1', [workerId]);
    assert.equal(rows[0].state, 'stopped');
  });
});
