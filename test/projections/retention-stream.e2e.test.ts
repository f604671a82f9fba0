import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Doorbell } from '../../src/ledger/doorbell.js';
import { head } from '../../src/ledger/read.js';
import { createLogger } from '../../src/ops/logger.js';
import { archiveFinished } from '../../src/pipelines/archive-finished.js';
import type { Delta } from '../../src/projections/delta.js';
import type { Model } from '../../src/projections/model.js';
import { startProjector, type Projector } from '../../src/projections/projector.js';
import { ensureProjectionVersion } from '../../src/projections/rebuild.js';
import { applyDeltas } from '../../src/projections/reducer.js';
import { snapshot } from '../../src/projections/snapshot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { record, startStack, type Stack } from '../helpers/stream.js';
import { demoSource } from './helpers.js';

describe('read-model retention on the stream', () => {
  let db: TestDatabase;
  let doorbell: Doorbell;
  let projector: Projector;
  let stack: Stack;
  before(async () => {
    db = await createTestDatabase();
    await ensureProjectionVersion(db.pool);
    doorbell = new Doorbell(db.url);
    await doorbell.start();
    projector = startProjector({ pool: db.pool, doorbell, logger: createLogger('silent'), batchSize: 200 });
    stack = await startStack(db);
  });
  after(async () => {
    await stack.close();
    await projector.stop();
    await doorbell.stop();
    await db.drop();
  });

  it('a live client receives the removal deltas, and its model then equals the new, smaller snapshot', async () => {
    await demoSource({ seed: 9 })(db.pool, 1500, 150);
    await projector.caughtUp();
    const client = record(`${stack.url}?snapshot=1`);
    await eventually(() => client.frames.some((frame) => frame.type === 'caught_up'), 20_000, 'the client to catch up');
    const first = client.frames.find((frame) => frame.type === 'snapshot')!;
    const model = first.model as Model;
    const finishedBefore = Object.values(model.jobs).filter((job) => ['completed', 'failed', 'cancelled'].includes(job.status)).length;
    assert.ok(finishedBefore > 5);
    const jobsBefore = Object.keys(model.jobs).length;

    const run = await archiveFinished(db.pool, { retainFinishedMs: 3_600_000, retainMaxJobs: 2 });
    assert.equal(run.archived, finishedBefore - 2);
    const target = await head(db.pool);
    await eventually(() => client.reached >= target, 20_000, 'the client to reach the archive events');
    const deltas = client.frames.filter((frame) => frame.type === 'deltas').flatMap((frame) => frame.deltas as Delta[]);
    const removals = deltas.filter((delta) => delta.type === 'job.archived');
    assert.equal(removals.length, finishedBefore - 2);
    assert.ok(removals.every((delta) => delta.entity === 'job' && delta.patch.archive === true && delta.jobId === delta.id));

    applyDeltas(model, deltas.filter((delta) => delta.offset > (first.offset as number)));
    await projector.caughtUp();
    const now = await snapshot(db.pool);
    assert.equal(now.offset, target);
    assert.deepStrictEqual(model, now.model);
    assert.equal(Object.keys(now.model.jobs).length, jobsBefore - (finishedBefore - 2));
    await client.close();
  });
});
