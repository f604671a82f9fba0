import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { jobBatcher } from '../../src/pipelines/create-jobs-together.js';
import { createJob, definePipeline, prepareJob, registerPipeline } from '../../src/pipelines/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { countEvents } from './helpers.js';

const pipeline = registerPipeline(
  definePipeline({
    name: 'created_together',
    input: z.object({ i: z.number() }),
    steps: [
      { name: 'a', handler: async () => null },
      { name: 'b', needs: [], handler: async () => null },
      { name: 'c', needs: ['a', 'b'], handler: async () => null },
    ],
  }),
);

describe('job creation with group commit', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  it('commits concurrent creations together, each learning the exact position of its job.created', async () => {
    const created = await Promise.all(Array.from({ length: 30 }, (_, i) => createJob(db.pool, pipeline.name, { i })));
    assert.equal(new Set(created.map((c) => c.jobId)).size, 30);
    for (const [i, job] of created.entries()) {
      const { rows } = await db.pool.query<{ type: string; stream_id: string; data: { input: { i: number } } }>(
        'select type, stream_id, data from ledger.events where position = $1',
        [job.position],
      );
      assert.equal(rows[0]!.type, 'job.created');
      assert.equal(rows[0]!.stream_id, job.jobId);
      assert.deepEqual(rows[0]!.data.input, { i });
      // job.created, then a step.queued for each root (a and b), contiguous.
      const { rows: next } = await db.pool.query<{ type: string; stream_id: string }>(
        'select type, stream_id from ledger.events where position in ($1, $2) order by position',
        [job.position + 1, job.position + 2],
      );
      assert.deepEqual(next.map((e) => [e.type, e.stream_id]), [['step.queued', job.jobId], ['step.queued', job.jobId]]);
    }
    const { rows } = await db.pool.query<{ n: number }>(
      `select count(distinct block_first)::int as n from ledger.events where type = 'job.created' and stream_id = any($1)`,
      [created.map((c) => c.jobId)],
    );
    assert.ok(rows[0]!.n < 30, `expected the 30 jobs in fewer blocks, got ${rows[0]!.n}`);
  });

  it('when a shared transaction fails, creates each job alone: the failing one fails alone', async () => {
    const create = jobBatcher(db.pool);
    const first = prepareJob(pipeline.name, { i: 100 });
    const twin = prepareJob(pipeline.name, { i: 101 });
    const other = prepareJob(pipeline.name, { i: 102 });
    // The first goes at once; the next three wait for it and go together,
    // and the same job id twice makes that transaction fail.
    const results = await Promise.allSettled([create(first), create(twin), create({ ...twin }), create(other)]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    assert.match(String((results[2] as PromiseRejectedResult).reason), /duplicate key/);
    for (const job of [first, twin, other]) {
      assert.equal(await countEvents(db.pool, 'job.created', 'stream_id = $2', [job.jobId]), 1);
    }
  });
});
