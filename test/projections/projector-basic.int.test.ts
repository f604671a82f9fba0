import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { append } from '../../src/ledger/append.js';
import { Doorbell } from '../../src/ledger/doorbell.js';
import { createLogger } from '../../src/ops/logger.js';
import { startProjector } from '../../src/projections/projector.js';
import { modelAt } from '../../src/projections/rebuild.js';
import { snapshot } from '../../src/projections/snapshot.js';
import type { TypedNewEvent } from '../../src/events/catalogue.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const job = (type: TypedNewEvent['type'], data: object): TypedNewEvent =>
  ({ streamType: 'job', streamId: (data as { jobId: string }).jobId, type, data }) as TypedNewEvent;

describe('projector basics', () => {
  let db: TestDatabase;
  let doorbell: Doorbell;
  before(async () => {
    db = await createTestDatabase();
    doorbell = new Doorbell(db.url);
    await doorbell.start();
  });
  after(async () => {
    await doorbell.stop();
    await db.drop();
  });

  it('projects every event type and its snapshot equals the model replayed in memory', async () => {
    const projector = startProjector({ pool: db.pool, doorbell, logger: createLogger('silent') });
    try {
      const ref = { jobId: 'j1', pipeline: 'video_clip' };
      await append(db.pool, [
        { streamType: 'worker', streamId: 'w1', type: 'worker.started', data: { workerId: 'w1', host: 'h', pid: 1, concurrency: 4, pipelines: ['video_clip'] } },
        job('job.created', { ...ref, input: {}, inputBytes: 10, priority: 'normal', steps: ['download', 'transcribe'] }),
        job('step.queued', { ...ref, step: 'download', attempt: 1, queue: 'normal', priority: 'normal', runAt: new Date().toISOString(), inputsFrom: [], inputBytes: 10 }),
        job('job.started', ref),
        job('step.started', { ...ref, step: 'download', attempt: 1, workerId: 'w1', queue: 'normal' }),
        job('step.progress', { ...ref, step: 'download', attempt: 1, percent: 50 }),
        job('step.completed', { ...ref, step: 'download', attempt: 1, workerId: 'w1', durationMs: 120, inputBytes: 10, outputBytes: 2000, next: ['transcribe'] }),
        job('step.queued', { ...ref, step: 'transcribe', attempt: 1, queue: 'normal', priority: 'normal', runAt: new Date().toISOString(), inputsFrom: [{ step: 'download', bytes: 2000 }], inputBytes: 2000 }),
        { streamType: 'worker', streamId: 'w1', type: 'worker.load', data: { workerId: 'w1', runningSteps: 1, rssBytes: 1e8, cpuPercent: 12.5 } },
        { streamType: 'queue', streamId: 'video_clip', type: 'queue.paused', data: { pipeline: 'video_clip', reason: 'test' } },
        { streamType: 'alert', streamId: 'a1', type: 'alert.raised', data: { alertId: 'a1', kind: 'queue_depth', severity: 'warning', subject: 'normal', message: 'deep', value: 120, threshold: 100 } },
        { streamType: 'job', streamId: 'j1', type: 'job.unknown_thing', data: { jobId: 'j1' } },
      ]);
      await projector.caughtUp();
      const snap = await snapshot(db.pool);
      const replayed = await modelAt(db.pool);
      assert.equal(snap.offset, 12);
      assert.deepStrictEqual(snap.model, replayed.model);
      assert.equal(snap.model.jobs.j1!.status, 'running');
      assert.equal(snap.model.jobs.j1!.progress, 50);
      assert.deepEqual(snap.model.queues, { 'normal/video_clip': { queue: 'normal', pipeline: 'video_clip', depth: 1 } });
      assert.equal(snap.model.workers.w1!.completed, 1);
      assert.equal(snap.model.stats['durations/video_clip/download']!.count, 1);
      assert.deepEqual(snap.model.stats['jobs/video_clip'], { running: 1 });

      await append(db.pool, [job('job.cancelled', { ...ref, reason: 'operator' })]);
      await projector.caughtUp();
      const after = await snapshot(db.pool);
      assert.deepStrictEqual(after.model, (await modelAt(db.pool)).model);
      assert.deepEqual(after.model.queues, {});
      assert.equal(after.model.steps['j1/transcribe']!.status, 'cancelled');
      assert.deepEqual(after.model.stats['jobs/video_clip'], { cancelled: 1 });
    } finally {
      await projector.stop();
    }
  });
});
