import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { comeBack } from '../../src/pipelines/come-back.js';
import { cancelJob, createJob, definePipeline, pausePipeline, registerPipeline, sweep } from '../../src/pipelines/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { countEvents, testConfig } from './helpers.js';

const queued = registerPipeline(definePipeline({ name: 'queued', input: z.object({}), steps: [{ name: 'a', handler: async () => null }] }));

// The silent worker was last seen a minute ago; the live one must stay fresh however slow the machine is.
const config = { workerTtlMs: 30_000, queueWarnDepth: 2, queueCriticalDepth: 4 };

async function alertEvents(db: TestDatabase) {
  const { rows } = await db.pool.query<{ type: string; data: Record<string, unknown> }>(
    `select type, data from ledger.events where type like 'alert.%' order by position`,
  );
  return rows.map((r) => [r.type, r.data.kind, r.data.subject, r.data.severity ?? null]);
}

describe('sweeper', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase(20);
  });
  after(() => db.drop());

  it('declares a silent worker offline exactly once under concurrent sweepers and releases its steps', async () => {
    await db.pool.query(
      `insert into pipelines.workers (worker_id, host, pid, concurrency, pipelines, gw_worker_ids, state, last_seen_at)
       values ('silent-1', 'h', 1, 1, '{queued}', '{gw-silent-1}', 'online', now() - interval '1 minute'),
              ('alive-1', 'h', 2, 1, '{queued}', '{gw-alive-1}', 'online', now())`,
    );
    // A step job the silent worker had locked.
    const { jobId } = await createJob(db.pool, queued.name, {});
    await db.pool.query(`update graphile_worker._private_jobs set locked_by = 'gw-silent-1', locked_at = now() where key = $1`, [`rl:${jobId}:a`]);

    const results = await Promise.all(Array.from({ length: 6 }, () => sweep(db.pool, config)));
    assert.deepEqual(results.flatMap((r) => r.offline), ['silent-1']);
    assert.equal(await countEvents(db.pool, 'worker.offline'), 1);
    const { rows } = await db.pool.query(`select data from ledger.events where type = 'worker.offline'`);
    assert.equal(rows[0].data.workerId, 'silent-1');
    assert.equal(rows[0].data.releasedSteps, 1);
    const job = await db.pool.query('select locked_by from graphile_worker._private_jobs where key = $1', [`rl:${jobId}:a`]);
    assert.equal(job.rows[0].locked_by, null, 'released for other workers');
    assert.deepEqual(await alertEvents(db), [['alert.raised', 'worker_offline', 'silent-1', 'critical']]);
    const states = await db.pool.query(`select worker_id, state from pipelines.workers order by worker_id`);
    assert.deepEqual(states.rows.map((r) => [r.worker_id, r.state]), [['alive-1', 'online'], ['silent-1', 'offline']]);

    // It comes back: worker.online and the alert cleared, once.
    const back = await Promise.all([comeBack(db.pool, 'silent-1'), comeBack(db.pool, 'silent-1')]);
    assert.deepEqual(back.sort(), [false, true]);
    assert.equal(await countEvents(db.pool, 'worker.online'), 1);
    assert.deepEqual((await alertEvents(db)).at(-1), ['alert.cleared', 'worker_offline', 'silent-1', null]);
    await cancelJob(db.pool, jobId);
  });

  it('raises queue depth alerts once per crossing and clears them on recovery', async () => {
    // Only queue-depth alerts: on a slow machine the first test's live worker may meanwhile outlive the TTL.
    const depthAlerts = async () => (await alertEvents(db)).filter(([, kind]) => kind === 'queue_depth');
    const before = (await depthAlerts()).length;
    await pausePipeline(db.pool, queued.name);
    const jobs = [];
    for (let i = 0; i < 2; i += 1) jobs.push((await createJob(db.pool, queued.name, {})).jobId);
    await Promise.all([sweep(db.pool, config), sweep(db.pool, config)]);
    await sweep(db.pool, config);
    assert.deepEqual((await depthAlerts()).slice(before), [['alert.raised', 'queue_depth', 'normal', 'warning']]);
    const raised = await db.pool.query(`select data from ledger.events where type = 'alert.raised' order by position desc limit 1`);
    assert.deepEqual([raised.rows[0].data.value, raised.rows[0].data.threshold], [2, testConfig.queueWarnDepth]);

    for (let i = 0; i < 3; i += 1) jobs.push((await createJob(db.pool, queued.name, {}, { priority: i === 0 ? 'normal' : 'normal' })).jobId);
    const result = await sweep(db.pool, config);
    assert.equal(result.depths.normal, 5);
    assert.deepEqual((await depthAlerts()).slice(before), [
      ['alert.raised', 'queue_depth', 'normal', 'warning'],
      ['alert.cleared', 'queue_depth', 'normal', null],
      ['alert.raised', 'queue_depth', 'normal', 'critical'],
    ]);

    for (const jobId of jobs) await cancelJob(db.pool, jobId);
    await Promise.all([sweep(db.pool, config), sweep(db.pool, config)]);
    assert.deepEqual((await depthAlerts()).slice(before + 3), [['alert.cleared', 'queue_depth', 'normal', null]]);
  });
});
