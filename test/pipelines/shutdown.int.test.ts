import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { createJob, definePipeline, registerPipeline } from '../../src/pipelines/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { countEvents, eventually, jobEvents, sequence, startTestWorker, untilState } from './helpers.js';

let hold = true;
const slow = registerPipeline(
  definePipeline({
    name: 'slow',
    input: z.object({}),
    steps: [
      {
        name: 'long',
        handler: async (ctx) => {
          await ctx.db.query('insert into effects (job_id) values ($1)', [ctx.jobId]);
          if (hold) {
            await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
          }
          return 'done';
        },
      },
    ],
  }),
);

describe('graceful worker shutdown', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
    await db.pool.query('create table effects (job_id uuid)');
  });
  after(() => db.drop());

  it('hands a step that does not finish in the grace period back, appends worker.stopped, and another worker completes it', async () => {
    const a = await startTestWorker(db.url, { graceMs: 300 });
    const { jobId } = await createJob(db.pool, slow.name, {});
    await eventually(async () => sequence(await jobEvents(db.pool, jobId)).includes('step.started:long'), 30_000, 'step started');
    await a.stop('test');
    assert.equal(await countEvents(db.pool, 'worker.stopped', `data->>'workerId' = $2 and data->>'reason' = 'test'`, [a.workerId]), 1);
    const queued = await db.pool.query('select locked_by, attempts from graphile_worker._private_jobs where key = $1', [`rl:${jobId}:long`]);
    assert.deepEqual(queued.rows, [{ locked_by: null, attempts: 0 }], 'handed back, due again');
    assert.deepEqual(sequence(await jobEvents(db.pool, jobId)), ['job.created', 'step.queued:long', 'job.started', 'step.started:long']);
    assert.equal((await db.pool.query('select count(*)::int as n from effects')).rows[0].n, 0, 'its writes rolled back');

    hold = false;
    const b = await startTestWorker(db.url);
    try {
      await untilState(db.pool, jobId, 'completed');
    } finally {
      await b.stop();
    }
    const events = await jobEvents(db.pool, jobId);
    assert.deepEqual(events.filter((e) => e.type === 'step.started').map((e) => e.data.workerId), [a.workerId, b.workerId]);
    assert.equal((await db.pool.query('select count(*)::int as n from effects')).rows[0].n, 1);
  });
});
