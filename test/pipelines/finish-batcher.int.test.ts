import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { jobEvent } from '../../src/events/new-event.js';
import { eventsPayload } from '../../src/pipelines/append-with-jobs.js';
import { finishBatcher, type FinishItem, type FinishResult } from '../../src/pipelines/finish-batcher.js';
import { createJob, definePipeline, registerPipeline, type RunningWorker } from '../../src/pipelines/index.js';
import { metrics } from '../../src/ops/metrics/registry.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { countEvents, jobEvents, sequence, startTestWorker, untilState } from './helpers.js';

// Four steps that all finish in the same tick, none touching ctx.db, and
// one that writes through ctx.db.
let arrived = 0;
let release!: () => void;
const allArrived = new Promise<void>((resolve) => (release = resolve));
const together = registerPipeline(
  definePipeline({
    name: 'finish_together',
    input: z.object({ i: z.number() }),
    steps: [
      {
        name: 'only',
        handler: async (ctx) => {
          arrived += 1;
          if (arrived === 4) release();
          await allArrived;
          return { i: (ctx.input as { i: number }).i };
        },
      },
    ],
  }),
);
const writes = registerPipeline(
  definePipeline({
    name: 'finish_with_db',
    input: z.object({}),
    steps: [
      {
        name: 'write',
        handler: async (ctx) => {
          await ctx.db.query('insert into effects (job_id) values ($1)', [ctx.jobId]);
          return null;
        },
      },
    ],
  }),
);

describe('step finishes committed together', () => {
  let db: TestDatabase;
  let worker: RunningWorker | undefined;
  before(async () => {
    db = await createTestDatabase();
    await db.pool.query('create table effects (job_id uuid)');
  });
  after(async () => {
    await worker?.stop();
    await db.drop();
  });

  it('commits the outcomes of steps that used no transaction in one block, each with exactly its own events', async () => {
    const jobIds = await Promise.all([0, 1, 2, 3].map(async (i) => (await createJob(db.pool, together.name, { i })).jobId));
    worker = await startTestWorker(db.url); // concurrency 4: all four steps run at once
    for (const jobId of jobIds) await untilState(db.pool, jobId, 'completed');
    for (const jobId of jobIds) {
      assert.deepEqual(sequence(await jobEvents(db.pool, jobId)), ['job.created', 'step.queued:only', 'job.started', 'step.started:only', 'step.completed:only', 'job.completed']);
    }
    // The first finish goes alone; the three that arrive meanwhile share the next transaction.
    const { rows } = await db.pool.query<{ blocks: number; largest: number }>(
      `select count(distinct block_first)::int as blocks, max(n)::int as largest
         from (select block_first, count(*) over (partition by block_first) as n
                 from ledger.events where type = 'step.completed' and data->>'pipeline' = $1) c`,
      [together.name],
    );
    assert.ok(rows[0]!.largest >= 3, `expected at least 3 step.completed in one block, got ${JSON.stringify(rows[0])}`);
    assert.ok(rows[0]!.blocks <= 2);
    // The worker runs in this process: its group-commit metrics saw the same.
    const observed = async (histogram: typeof metrics.groupCommitItems, suffix: '_sum' | '_count') => {
      const { name, values } = await histogram.get();
      return values.find((v) => v.metricName === `${name}${suffix}` && v.labels.batch === 'step_finish')?.value;
    };
    assert.equal(await observed(metrics.groupCommitItems, '_sum'), 4, 'four steps went through the finish batcher');
    assert.equal(await observed(metrics.groupCommitItems, '_count'), rows[0]!.blocks, 'one group commit per block');
    assert.equal(await observed(metrics.groupCommitSeconds, '_count'), rows[0]!.blocks);
    assert.equal(await observed(metrics.groupCommitWaitSeconds, '_count'), 4);
  });

  it('keeps a step that wrote through ctx.db in its own transaction, with its write', async () => {
    const { jobId } = await createJob(db.pool, writes.name, {});
    await untilState(db.pool, jobId, 'completed');
    const { rows } = await db.pool.query('select count(*)::int as n from effects where job_id = $1', [jobId]);
    assert.equal(rows[0].n, 1);
    assert.equal(await countEvents(db.pool, 'step.completed', `data->>'jobId' = $2`, [jobId]), 1);
  });

  it('when the shared transaction fails, tries each step alone: the failing one fails alone, the rest commit', async () => {
    await worker?.stop();
    worker = undefined;
    const finish = finishBatcher();
    const jobIds = await Promise.all([0, 1, 2].map(async (i) => (await createJob(db.pool, together.name, { i })).jobId));
    await db.pool.query(`update pipelines.jobs set state = 'running' where job_id = any($1)`, [jobIds]);
    const clients = await Promise.all(jobIds.map(() => db.pool.connect()));
    const item = (i: number, fails: boolean): FinishItem => ({
      values: [jobIds[i]!, 'only', 1, 'test-worker', '{}', 2],
      client: clients[i]!,
      outcome: (result: FinishResult) => {
        if (fails) throw new Error('this outcome cannot be written');
        assert.equal(result.status, 'ok');
        return { specs: [], eventsJson: eventsPayload([jobEvent('step.completed', { jobId: jobIds[i]!, pipeline: together.name, step: 'only', attempt: 1, workerId: 'test-worker', durationMs: 1, inputBytes: 0, outputBytes: 2, next: [] })]) };
      },
    });
    try {
      // The first goes at once; the next two wait for it and go together.
      const first = finish(item(0, false));
      const [second, third] = await Promise.allSettled([finish(item(1, false)), finish(item(2, true))]);
      assert.equal((await first).status, 'ok');
      assert.equal(second.status, 'fulfilled');
      assert.equal(third.status, 'rejected');
      assert.match(String((third as PromiseRejectedResult).reason), /cannot be written/);
    } finally {
      for (const client of clients) client.release();
    }
    const runs = await db.pool.query<{ job_id: string }>('select job_id from pipelines.step_runs where job_id = any($1) order by job_id', [jobIds]);
    assert.deepEqual(runs.rows.map((r) => r.job_id), [jobIds[0], jobIds[1]].sort());
    for (const [i, expected] of [[0, 1], [1, 1], [2, 0]] as const) {
      assert.equal(await countEvents(db.pool, 'step.completed', `data->>'jobId' = $2`, [jobIds[i]]), expected);
    }
  });
});
