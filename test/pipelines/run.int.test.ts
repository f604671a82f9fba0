import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { AppError } from '../../src/ops/errors.js';
import { createJob, definePipeline, registerPipeline, type RunningWorker } from '../../src/pipelines/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { countEvents, eventually, jobEvents, sequence, startTestWorker, untilState } from './helpers.js';

const linear = registerPipeline(
  definePipeline({
    name: 'linear',
    input: z.object({ n: z.number().int() }),
    steps: [
      {
        name: 'first',
        handler: async (ctx) => {
          await ctx.progress(50, 'half way');
          await ctx.db.query('insert into effects (job_id, step) values ($1, $2)', [ctx.jobId, ctx.step]);
          return { doubled: (ctx.input as { n: number }).n * 2 };
        },
      },
      {
        name: 'second',
        handler: async (ctx) => {
          await ctx.db.query('insert into effects (job_id, step) values ($1, $2)', [ctx.jobId, ctx.step]);
          return { plusOne: (ctx.outputs.first as { doubled: number }).doubled + 1 };
        },
      },
    ],
  }),
);

// a → (b1, b2, b3) → join: the join records which outputs it saw.
const diamond = registerPipeline(
  definePipeline({
    name: 'diamond',
    input: z.object({}),
    steps: [
      { name: 'a', handler: async () => ({ from: 'a' }) },
      ...['b1', 'b2', 'b3'].map((name, i) => ({
        name,
        needs: ['a'],
        handler: async (ctx: { db: { query: (q: string, v: unknown[]) => Promise<unknown> }; jobId: string }) => {
          // Branches finish in a different order than they are listed.
          await new Promise((resolve) => setTimeout(resolve, (3 - i) * 30));
          await ctx.db.query('insert into effects (job_id, step) values ($1, $2)', [ctx.jobId, name]);
          return { branch: name };
        },
      })),
      {
        name: 'join',
        needs: ['b1', 'b2', 'b3'],
        handler: async (ctx) => {
          await ctx.db.query('insert into effects (job_id, step, seen) values ($1, $2, $3)', [ctx.jobId, 'join', Object.keys(ctx.outputs).sort()]);
          return { joined: true };
        },
      },
    ],
  }),
);

describe('pipeline runs', () => {
  let db: TestDatabase;
  let worker: RunningWorker;
  before(async () => {
    db = await createTestDatabase();
    await db.pool.query('create table effects (job_id uuid, step text, seen text[])');
    worker = await startTestWorker(db.url, { loadSampleMs: 300 });
  });
  after(async () => {
    await worker.stop();
    await db.drop();
  });

  it('runs a linear pipeline to completion with exactly the expected events', async () => {
    const { jobId, position } = await createJob(db.pool, linear.name, { n: 20 }, { actor: 'test' });
    await untilState(db.pool, jobId, 'completed');
    const events = await jobEvents(db.pool, jobId);
    assert.equal(events[0]!.position, position);
    assert.deepEqual(sequence(events), [
      'job.created',
      'step.queued:first',
      'job.started',
      'step.started:first',
      'step.progress:first',
      'step.completed:first',
      'step.queued:second',
      'step.started:second',
      'step.completed:second',
      'job.completed',
    ]);
    const byType = (type: string) => events.find((e) => e.type === type)!.data;
    assert.deepEqual(byType('job.created').steps, ['first', 'second']);
    assert.equal(byType('step.progress').percent, 50);
    const queuedSecond = events.filter((e) => e.type === 'step.queued')[1]!.data;
    assert.deepEqual(queuedSecond.inputsFrom, [{ step: 'first', bytes: JSON.stringify({ doubled: 40 }).length }]);
    const completed = events.filter((e) => e.type === 'step.completed');
    assert.deepEqual(completed[0]!.data.next, ['second']);
    assert.equal(completed[1]!.data.outputBytes, JSON.stringify({ plusOne: 41 }).length);
    assert.equal(completed[1]!.data.workerId, worker.workerId);
    const { rows } = await db.pool.query('select step from effects where job_id = $1 order by step', [jobId]);
    assert.deepEqual(rows.map((r) => r.step), ['first', 'second']);
    // graphile-worker removes its job row in its own transaction after the step's has committed.
    const leftover = async () =>
      (await db.pool.query(`select count(*)::int as n from graphile_worker._private_jobs where key like $1`, [`rl:${jobId}:%`])).rows[0].n;
    await eventually(async () => (await leftover()) === 0, 30_000, 'graphile-worker to remove the finished step jobs');
  });

  it('fans out and in: the join runs exactly once, after every branch, with every branch output', async () => {
    const jobs = await Promise.all(Array.from({ length: 5 }, () => createJob(db.pool, diamond.name, {})));
    for (const { jobId } of jobs) await untilState(db.pool, jobId, 'completed');
    for (const { jobId } of jobs) {
      const events = await jobEvents(db.pool, jobId);
      const seq = sequence(events);
      assert.equal(seq.filter((s) => s === 'step.started:join').length, 1);
      assert.equal(seq.filter((s) => s === 'step.completed:join').length, 1);
      assert.equal(seq.filter((s) => s === 'step.queued:join').length, 1);
      const joinStarted = seq.indexOf('step.started:join');
      for (const branch of ['b1', 'b2', 'b3']) assert.ok(seq.indexOf(`step.completed:${branch}`) < joinStarted, `${branch} before join`);
      const aCompleted = events.find((e) => e.type === 'step.completed' && e.data.step === 'a')!;
      assert.deepEqual([...(aCompleted.data.next as string[])].sort(), ['b1', 'b2', 'b3']);
      const { rows } = await db.pool.query(`select seen from effects where job_id = $1 and step = 'join'`, [jobId]);
      assert.deepEqual(rows.map((r) => r.seen), [['b1', 'b2', 'b3']]);
    }
  });

  it('records the worker starting and samples its load into the ledger (not every heartbeat)', async () => {
    const started = await db.pool.query(`select data from ledger.events where type = 'worker.started' and stream_id = $1`, [worker.workerId]);
    assert.deepEqual(Object.keys(started.rows[0].data).sort(), ['concurrency', 'host', 'pid', 'pipelines', 'workerId']);
    assert.equal(started.rows[0].data.pid, process.pid);
    await eventually(async () => (await countEvents(db.pool, 'worker.load')) > 0, 30_000, 'a load sample');
    const { rows } = await db.pool.query(`select data from ledger.events where type = 'worker.load' limit 1`);
    assert.equal(rows[0].data.workerId, worker.workerId);
    for (const field of ['runningSteps', 'rssBytes', 'cpuPercent']) assert.equal(typeof rows[0].data[field], 'number', field);
    const beats = await db.pool.query('select last_seen_at > started_at as beating from pipelines.workers where worker_id = $1', [worker.workerId]);
    assert.equal(beats.rows[0].beating, true, 'the heartbeat row moves');
  });

  it('refuses input that fails the schema, naming the field, and writes nothing', async () => {
    const before = (await db.pool.query('select count(*)::int as n from ledger.events')).rows[0].n;
    await assert.rejects(createJob(db.pool, linear.name, { n: 'twenty' }), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.status, 400);
      assert.equal(error.field, 'input.n');
      assert.match(error.message, /^input\.n: Expected number/);
      return true;
    });
    await assert.rejects(createJob(db.pool, 'no_such_pipeline', {}), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.status, 404);
      assert.equal(error.field, 'pipeline');
      return true;
    });
    await assert.rejects(createJob(db.pool, linear.name, { n: 1 }, { priority: 'urgent' as never }), /priority/);
    assert.equal((await db.pool.query('select count(*)::int as n from ledger.events')).rows[0].n, before);
  });

  it('applies a step once when its graphile-worker job is delivered again after it committed', async () => {
    const { jobId } = await createJob(db.pool, linear.name, { n: 1 });
    await untilState(db.pool, jobId, 'completed');
    // What a crash between our COMMIT and graphile-worker's completion leaves:
    // the same step job, same key and payload, delivered again.
    await db.pool.query(
      `select graphile_worker.add_job('rl_step:linear', $1::json, job_key := $2, flags := array['p:linear'])`,
      [JSON.stringify({ jobId, step: 'first', attempt: 1, queue: 'normal' }), `rl:${jobId}:first`],
    );
    await eventually(
      async () => (await db.pool.query('select count(*)::int as n from graphile_worker._private_jobs where key = $1', [`rl:${jobId}:first`])).rows[0].n === 0,
      30_000,
      'the duplicate delivery to be consumed',
    );
    const { rows } = await db.pool.query(`select count(*)::int as n from effects where job_id = $1 and step = 'first'`, [jobId]);
    assert.equal(rows[0].n, 1);
    const seq = sequence(await jobEvents(db.pool, jobId));
    assert.equal(seq.filter((s) => s === 'step.completed:first').length, 1);
    assert.equal(seq.filter((s) => s === 'step.started:first').length, 1);
    assert.equal(seq.at(-1), 'job.completed');
  });
});
