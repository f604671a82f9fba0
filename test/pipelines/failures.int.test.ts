import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { AppError } from '../../src/ops/errors.js';
import {
  cancelJob,
  createJob,
  definePipeline,
  listDeadLetters,
  pausePipeline,
  registerPipeline,
  resumePipeline,
  retryJob,
  type RunningWorker,
} from '../../src/pipelines/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { countEvents, eventually, jobEvents, sequence, startTestWorker, untilState } from './helpers.js';

const fast = { backoffMs: 20, maxBackoffMs: 100 };

const flaky = registerPipeline(
  definePipeline({
    name: 'flaky',
    input: z.object({}),
    steps: [
      {
        name: 'a',
        retry: { maxAttempts: 3, ...fast },
        handler: async (ctx) => {
          await ctx.db.query('insert into effects (job_id, step, attempt) values ($1, $2, $3)', [ctx.jobId, ctx.step, ctx.attempt]);
          if (ctx.attempt === 1) throw new Error('first attempt fails');
          return { ok: true };
        },
      },
    ],
  }),
);

// b fails until a row in `fixed` says otherwise.
const doomed = registerPipeline(
  definePipeline({
    name: 'doomed',
    input: z.object({}),
    steps: [
      { name: 'a', handler: async (ctx) => ctx.db.query('insert into effects (job_id, step, attempt) values ($1, $2, $3)', [ctx.jobId, 'a', ctx.attempt]).then(() => 'a') },
      {
        name: 'b',
        retry: { maxAttempts: 2, ...fast },
        handler: async (ctx) => {
          const { rowCount } = await ctx.db.query('select 1 from fixed where job_id = $1', [ctx.jobId]);
          if (rowCount === 0) throw new Error('downstream unavailable');
          return 'b';
        },
      },
    ],
  }),
);

const aborted = new Map<string, unknown>();
const cancellable = registerPipeline(
  definePipeline({
    name: 'cancellable',
    input: z.object({}),
    steps: [
      {
        name: 'wait',
        handler: async (ctx) => {
          await ctx.db.query('insert into effects (job_id, step, attempt) values ($1, $2, $3)', [ctx.jobId, ctx.step, ctx.attempt]);
          await new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => {
              aborted.set(ctx.jobId, ctx.signal.reason);
              reject(ctx.signal.reason);
            }),
          );
        },
      },
      { name: 'next', handler: async () => 'next' },
    ],
  }),
);

// Ignores its signal entirely: the timeout must still end the attempt.
const stuck = registerPipeline(
  definePipeline({
    name: 'stuck',
    input: z.object({}),
    steps: [
      {
        name: 'forever',
        timeoutMs: 200,
        retry: { maxAttempts: 1 },
        handler: async (ctx) => {
          await ctx.db.query('insert into effects (job_id, step, attempt) values ($1, $2, $3)', [ctx.jobId, ctx.step, ctx.attempt]);
          await new Promise(() => {});
        },
      },
    ],
  }),
);

const pausable = registerPipeline(
  definePipeline({ name: 'pausable', input: z.object({}), steps: [{ name: 'one', handler: async () => 1 }, { name: 'two', handler: async () => 2 }] }),
);
const other = registerPipeline(definePipeline({ name: 'other', input: z.object({}), steps: [{ name: 'only', handler: async () => 'x' }] }));

describe('failures, dead letters, cancel and pause', () => {
  let db: TestDatabase;
  let worker: RunningWorker;
  before(async () => {
    db = await createTestDatabase();
    await db.pool.query('create table effects (job_id uuid, step text, attempt int)');
    await db.pool.query('create table fixed (job_id uuid)');
    worker = await startTestWorker(db.url);
  });
  after(async () => {
    await worker.stop();
    await db.drop();
  });

  it('retries a failed step with backoff and completes; the failed attempt left no effects', async () => {
    const { jobId } = await createJob(db.pool, flaky.name, {});
    await untilState(db.pool, jobId, 'completed');
    const events = await jobEvents(db.pool, jobId);
    assert.deepEqual(sequence(events), [
      'job.created',
      'step.queued:a',
      'job.started',
      'step.started:a',
      'step.failed:a',
      'step.retrying:a',
      'step.queued:a',
      'step.started:a',
      'step.completed:a',
      'job.completed',
    ]);
    const failed = events.find((e) => e.type === 'step.failed')!.data;
    assert.equal(failed.error, 'first attempt fails');
    assert.equal(failed.final, false);
    const retrying = events.find((e) => e.type === 'step.retrying')!.data;
    assert.equal(retrying.nextAttempt, 2);
    assert.equal(retrying.delayMs, 20);
    assert.ok(!Number.isNaN(Date.parse(retrying.runAt as string)));
    assert.equal(events.find((e) => e.type === 'step.completed')!.data.attempt, 2);
    const { rows } = await db.pool.query('select attempt from effects where job_id = $1', [jobId]);
    assert.deepEqual(rows.map((r) => r.attempt), [2], 'the first attempt rolled back with its step');
  });

  it('dead-letters a job failing every attempt, then retries it from the dead letters to completion', async () => {
    const { jobId } = await createJob(db.pool, doomed.name, {});
    await untilState(db.pool, jobId, 'failed');
    const failedSeq = sequence(await jobEvents(db.pool, jobId));
    assert.deepEqual(failedSeq, [
      'job.created',
      'step.queued:a',
      'job.started',
      'step.started:a',
      'step.completed:a',
      'step.queued:b',
      'step.started:b',
      'step.failed:b',
      'step.retrying:b',
      'step.queued:b',
      'step.started:b',
      'step.failed:b',
      'job.failed',
    ]);
    assert.equal(failedSeq.at(-1), 'job.failed');
    const jobFailed = (await jobEvents(db.pool, jobId)).at(-1)!.data;
    assert.deepEqual([jobFailed.step, jobFailed.error, jobFailed.attempts], ['b', 'downstream unavailable', 2]);
    const dead = await listDeadLetters(db.pool);
    assert.deepEqual(dead.map((d) => [d.jobId, d.failedStep, d.error]), [[jobId, 'b', 'downstream unavailable']]);

    await assert.rejects(retryJob(db.pool, (await createJob(db.pool, other.name, {})).jobId), (error: unknown) => error instanceof AppError && error.status === 409);

    await db.pool.query('insert into fixed values ($1)', [jobId]);
    const retried = await retryJob(db.pool, jobId, { actor: 'operator' });
    assert.deepEqual(retried.steps, ['b']);
    await untilState(db.pool, jobId, 'completed');
    const seq = sequence(await jobEvents(db.pool, jobId));
    assert.deepEqual(seq.slice(seq.indexOf('job.retried')), ['job.retried', 'step.queued:b', 'step.started:b', 'step.completed:b', 'job.completed']);
    assert.equal(seq.filter((s) => s === 'step.completed:a').length, 1, 'a kept its result');
    assert.deepEqual(await listDeadLetters(db.pool), []);
  });

  it('cancels a running job: the step signal fires, its effects roll back, nothing else runs', async () => {
    const { jobId } = await createJob(db.pool, cancellable.name, {});
    await eventually(async () => sequence(await jobEvents(db.pool, jobId)).includes('step.started:wait'), 30_000, 'step started');
    await cancelJob(db.pool, jobId, { reason: 'operator asked', actor: 'test' });
    await eventually(() => aborted.has(jobId), 30_000, 'the abort signal');
    assert.match(String((aborted.get(jobId) as Error).message), /cancelled/);
    await eventually(
      async () => (await db.pool.query('select count(*)::int as n from graphile_worker._private_jobs where key like $1 or locked_by is not null', [`rl:${jobId}:%`])).rows[0].n === 0,
      30_000,
      'step job finished',
    );
    const events = await jobEvents(db.pool, jobId);
    assert.deepEqual(sequence(events), ['job.created', 'step.queued:wait', 'job.started', 'step.started:wait', 'job.cancelled']);
    assert.equal(events.at(-1)!.data.reason, 'operator asked');
    const { rows } = await db.pool.query('select count(*)::int as n from effects where job_id = $1', [jobId]);
    assert.equal(rows[0].n, 0);
    await assert.rejects(cancelJob(db.pool, jobId), (error: unknown) => error instanceof AppError && error.status === 409);
  });

  it('times out a step that ignores its signal: the attempt fails, its writes roll back', async () => {
    const { jobId } = await createJob(db.pool, stuck.name, {});
    await untilState(db.pool, jobId, 'failed');
    const events = await jobEvents(db.pool, jobId);
    assert.deepEqual(sequence(events).slice(-2), ['step.failed:forever', 'job.failed']);
    assert.equal(events.at(-2)!.data.error, 'step timed out after 200 ms');
    assert.equal(events.at(-2)!.data.final, true);
    assert.equal((await db.pool.query('select count(*)::int as n from effects where job_id = $1', [jobId])).rows[0].n, 0);
    // The worker carries on.
    await untilState(db.pool, (await createJob(db.pool, other.name, {})).jobId, 'completed');
  });

  it('cancel removes queued steps', async () => {
    await pausePipeline(db.pool, pausable.name);
    try {
      const { jobId } = await createJob(db.pool, pausable.name, {});
      const key = `rl:${jobId}:one`;
      const queued = async () => (await db.pool.query('select count(*)::int as n from graphile_worker._private_jobs where key = $1', [key])).rows[0].n;
      assert.equal(await queued(), 1);
      await cancelJob(db.pool, jobId);
      assert.equal(await queued(), 0);
    } finally {
      await resumePipeline(db.pool, pausable.name);
    }
  });

  it('pauses a pipeline (nothing of it starts, others run) and resumes it where it stopped', async () => {
    const paused = await pausePipeline(db.pool, pausable.name, { reason: 'maintenance' });
    assert.ok(paused);
    assert.equal(await pausePipeline(db.pool, pausable.name), null, 'pausing twice records it once');
    const { jobId } = await createJob(db.pool, pausable.name, {});
    // The worker is demonstrably taking work meanwhile: other pipelines run.
    for (let i = 0; i < 3; i += 1) await untilState(db.pool, (await createJob(db.pool, other.name, {})).jobId, 'completed');
    assert.deepEqual(sequence(await jobEvents(db.pool, jobId)), ['job.created', 'step.queued:one']);
    const resumed = await resumePipeline(db.pool, pausable.name);
    assert.ok(resumed);
    await untilState(db.pool, jobId, 'completed');
    const events = await jobEvents(db.pool, jobId);
    const firstStart = events.find((e) => e.type === 'step.started')!;
    assert.ok(firstStart.position > resumed.position, 'started only after queue.resumed');
    assert.equal(await countEvents(db.pool, 'queue.paused', `data->>'pipeline' = $2`, [pausable.name]), 2, 'one per pause here and in the cancel test');
  });

  it('a global pause stops every pipeline until resumed', async () => {
    const paused = await pausePipeline(db.pool, null);
    assert.ok(paused);
    const jobs = await Promise.all([createJob(db.pool, other.name, {}), createJob(db.pool, pausable.name, {})]);
    // Nothing is due anywhere else; give the worker a poll's worth of chances by
    // waiting until its control loop has certainly read the pause (its next beat).
    await eventually(
      async () => (await db.pool.query(`select last_seen_at > (select recorded_at from ledger.events where position = $1) as seen from pipelines.workers where worker_id = $2`, [paused.position, worker.workerId])).rows[0].seen,
      30_000,
      'a heartbeat after the pause',
    );
    for (const { jobId } of jobs) assert.equal(await countEvents(db.pool, 'step.started', `stream_id = $2`, [jobId]), 0);
    const resumed = await resumePipeline(db.pool, null);
    assert.ok(resumed);
    for (const { jobId } of jobs) {
      await untilState(db.pool, jobId, 'completed');
      const start = (await jobEvents(db.pool, jobId)).find((e) => e.type === 'step.started')!;
      assert.ok(start.position > resumed.position);
    }
  });
});
