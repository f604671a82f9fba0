import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { Doorbell } from '../../src/ledger/doorbell.js';
import { AppError } from '../../src/ops/errors.js';
import { readConfig } from '../../src/ops/config.js';
import { createLogger } from '../../src/ops/logger.js';
import { createJob, definePipeline, registerPipeline, retryJob, startWorker, type RunningWorker } from '../../src/pipelines/index.js';
import { startProjector, type Projector } from '../../src/projections/projector.js';
import { getJob } from '../../src/projections/queries/get-job.js';
import { ensureProjectionVersion } from '../../src/projections/rebuild.js';
import { snapshot } from '../../src/projections/snapshot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually, untilState } from '../pipelines/helpers.js';

const logger = createLogger('silent');

const fine = registerPipeline(
  definePipeline({ name: 'retention_fine', input: z.object({}), steps: [{ name: 'only', handler: async () => 'ok' }] }),
);
const doomed = registerPipeline(
  definePipeline({
    name: 'retention_doomed',
    input: z.object({}),
    steps: [{ name: 'only', retry: { maxAttempts: 1 }, handler: async () => Promise.reject(new Error('always fails')) }],
  }),
);

describe('the retention task on graphile-worker', () => {
  let db: TestDatabase;
  let doorbell: Doorbell;
  let projector: Projector;
  let worker: RunningWorker | undefined;
  before(async () => {
    db = await createTestDatabase();
    await ensureProjectionVersion(db.pool);
    doorbell = new Doorbell(db.url);
    await doorbell.start();
    projector = startProjector({ pool: db.pool, doorbell, logger, batchSize: 100 });
    // Keep nothing finished: every finished job is due at the first run.
    const config = { ...readConfig({}), workerConcurrency: 2, heartbeatMs: 500, retainFinishedMs: 0, retainMaxJobs: 0 };
    // The crontab fires on minute boundaries; the test queues the same task by hand instead.
    worker = await startWorker({ url: db.url, config, logger, crontab: false, pollIntervalMs: 100, pipelines: [fine, doomed] });
  });
  after(async () => {
    await worker?.stop();
    await projector.stop();
    await doorbell.stop();
    await db.drop();
  });

  it('rl_archive archives finished jobs by ledger events; archived jobs read from the archive and are not retried', async () => {
    const done = await Promise.all([1, 2, 3].map(() => createJob(db.pool, fine.name, {})));
    const failed = await createJob(db.pool, doomed.name, {});
    for (const { jobId } of done) await untilState(db.pool, jobId, 'completed');
    await untilState(db.pool, failed.jobId, 'failed');
    await projector.caughtUp();
    const ids = [...done, failed].map((job) => job.jobId);
    const before = await snapshot(db.pool);
    for (const id of ids) assert.ok(before.model.jobs[id], `job ${id} is live before`);

    await db.pool.query(`select graphile_worker.add_job('rl_archive', '{}'::json)`);
    await eventually(async () => {
      const { rows } = await db.pool.query<{ id: string }>(`select data->>'jobId' as id from ledger.events where type = 'job.archived'`);
      return ids.every((id) => rows.some((row) => row.id === id));
    }, 30_000, 'job.archived for the four jobs');
    await projector.caughtUp();
    const afterRun = await snapshot(db.pool);
    for (const id of ids) assert.equal(afterRun.model.jobs[id], undefined, `job ${id} left the live window`);
    const { rows } = await db.pool.query(`select metadata->>'actor' as actor, count(*)::int as n from ledger.events where type = 'job.archived' group by 1`);
    assert.deepEqual(rows, [{ actor: 'retention', n: 4 }]);

    const detail = await getJob(db.pool, { jobId: failed.jobId });
    assert.equal(detail?.archived, true);
    assert.equal(detail?.job.status, 'failed');
    assert.deepEqual(detail?.steps.map((step) => [step.step, step.status]), [['only', 'failed']]);
    await assert.rejects(retryJob(db.pool, failed.jobId), (error: unknown) => error instanceof AppError && error.status === 409 && error.code === 'job_archived');
  });
});
