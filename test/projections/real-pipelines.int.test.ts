import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Doorbell } from '../../src/ledger/doorbell.js';
import { readConfig } from '../../src/ops/config.js';
import { createLogger } from '../../src/ops/logger.js';
import { cancelJob, createJob, registerDemoPipelines, retryJob, startWorker, type RunningWorker } from '../../src/pipelines/index.js';
import { startProjector, type Projector } from '../../src/projections/projector.js';
import { ensureProjectionVersion, modelAt, rebuild } from '../../src/projections/rebuild.js';
import { snapshot } from '../../src/projections/snapshot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { dumpTables } from './helpers.js';

const logger = createLogger('silent');
const FINISHED = ['completed', 'failed', 'cancelled'];

// The projection over the events the real pipelines append (not the generator's imitation of them).
describe('projections over the real demo pipelines', () => {
  let db: TestDatabase;
  let doorbell: Doorbell;
  let projector: Projector;
  let worker: RunningWorker | undefined;
  before(async () => {
    db = await createTestDatabase();
    registerDemoPipelines();
    await ensureProjectionVersion(db.pool);
    doorbell = new Doorbell(db.url);
    await doorbell.start();
    projector = startProjector({ pool: db.pool, doorbell, logger, batchSize: 50 });
    const config = { ...readConfig({}), workerConcurrency: 4, heartbeatMs: 200, workerTtlMs: 60_000, queueWarnDepth: 3, queueCriticalDepth: 6 };
    worker = await startWorker({ url: db.url, config, logger, crontab: false, pollIntervalMs: 100, graceMs: 2000, loadSampleMs: 300 });
  });
  after(async () => {
    await worker?.stop();
    await projector.stop();
    await doorbell.stop();
    await db.drop();
  });

  it('matches the ledger replayed and a rebuild, with consistent derived counts, through failures, retries and a cancel', async () => {
    const jobIds: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      const input = i % 2 === 0
        ? { url: `https://videos.example/${i}.mp4`, durationSeconds: 60, speed: 100, failureRate: 0.25 }
        : { prompt: 'projections', speed: 100, failureRate: 0.25 };
      jobIds.push((await createJob(db.pool, i % 2 === 0 ? 'video_clip' : 'content_agents', input, { priority: 'normal' })).jobId);
    }
    await cancelJob(db.pool, jobIds[9]!, { reason: 'test' }).catch(() => {});
    const allFinished = async () => {
      await projector.caughtUp();
      const { model } = await snapshot(db.pool);
      return jobIds.every((id) => FINISHED.includes(model.jobs[id]?.status ?? ''));
    };
    await eventually(allFinished, 60_000, 'every job finished in the read model');
    const failed = Object.values((await snapshot(db.pool)).model.jobs).filter((job) => job.status === 'failed');
    for (const job of failed) await retryJob(db.pool, job.id);
    await eventually(allFinished, 60_000, 'retried jobs finished');
    // Stopped, the worker appends nothing more (its load samples and heartbeats would move the head).
    await worker!.stop();
    worker = undefined;
    await projector.caughtUp();

    const { offset, model } = await snapshot(db.pool);
    assert.deepStrictEqual(model, (await modelAt(db.pool, offset)).model);
    for (const id of jobIds) {
      const job = model.jobs[id]!;
      assert.deepEqual(job.currentSteps, [], `job ${id} runs nothing`);
      if (job.status === 'completed') {
        assert.equal(job.progress, 100);
        assert.ok(job.steps.every((step) => model.steps[`${id}/${step}`]!.status === 'completed'));
      }
    }
    assert.equal(model.jobs[jobIds[9]!]!.status, 'cancelled');
    assert.deepEqual(model.queues, {}, 'no step waits once every job finished');
    const counts = Object.entries(model.stats).filter(([id]) => id.startsWith('jobs/')).flatMap(([, row]) => Object.values(row));
    assert.equal(counts.reduce((a, b) => a + b, 0), jobIds.length);
    assert.ok(Object.values(model.workers).some((w) => w.status === 'stopped' && w.completed > 0 && w.runningSteps.length === 0));
    assert.ok(Object.keys(model.stats).some((id) => id.startsWith('durations/video_clip/')));

    const incremental = await dumpTables(db.pool);
    await rebuild(db.pool, {});
    assert.deepStrictEqual(await dumpTables(db.pool), incremental);
    assert.equal((await snapshot(db.pool)).offset, offset);
  });
});
