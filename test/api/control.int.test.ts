import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { definePipeline, registerPipeline, type RunningWorker } from '../../src/pipelines/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startTestWorker } from '../pipelines/helpers.js';
import { eventually, registerTestPipeline, startApi, type Api, type Reply } from './helpers.js';

async function refused(api: Api, reply: Promise<Reply>, status: number, field: string) {
  const before = await api.head();
  const r = await reply;
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.ok(r.body.errors.some((e: { field: string }) => e.field === field), `errors ${JSON.stringify(r.body.errors)} should name ${field}`);
  assert.equal(await api.head(), before, 'a refused request writes nothing');
}

/** `throttled`: each step records when it ran (clock of the database) in a table, for overlap checks. */
function registerThrottledPipeline() {
  return registerPipeline(
    definePipeline({
      name: 'throttled',
      input: z.object({ ms: z.number().int().default(300) }),
      steps: [
        {
          name: 'work',
          handler: async (ctx) => {
            // Outside the step's transaction: the row must be there even if it is rolled back.
            const { rows } = await ctx.db.query<{ t: string }>('select extract(epoch from clock_timestamp())::float8 as t');
            await new Promise((resolve) => setTimeout(resolve, ctx.input.ms));
            const end = await ctx.db.query<{ t: string }>('select extract(epoch from clock_timestamp())::float8 as t');
            await ctx.db.query('insert into throttle_runs (job_id, started, ended) values ($1, $2, $3)', [ctx.jobId, rows[0]!.t, end.rows[0]!.t]);
            return null;
          },
        },
      ],
    }),
  );
}

describe('operators API: control', () => {
  let db: TestDatabase;
  let api: Api;
  const workers: RunningWorker[] = [];
  before(async () => {
    registerTestPipeline();
    registerThrottledPipeline();
    db = await createTestDatabase(20);
    await db.pool.query('create table throttle_runs (job_id uuid, started float8, ended float8)');
    api = await startApi(db);
  });
  after(async () => {
    for (const worker of workers) await worker.stop();
    await api.close();
    await db.drop();
  });

  it('GET /api/pipelines, /api/workers, /api/queues describe definitions and state', async () => {
    const p = await api.call('GET', '/api/pipelines');
    assert.equal(p.status, 200);
    const t = p.body.data.find((x: { name: string }) => x.name === 'api_test');
    assert.deepEqual(t.steps[0].retry.maxAttempts, 1);
    assert.equal(t.paused, false);
    const q = await api.call('GET', '/api/queues');
    assert.deepEqual(q.body.data.map((x: { queue: string }) => x.queue), ['high', 'normal', 'background']);
    assert.equal((await api.call('GET', '/api/workers')).status, 200);
    await refused(api, api.call('GET', '/api/pipelines?x=1'), 400, 'x');
    await refused(api, api.call('GET', '/api/queues?x=1'), 400, 'x');
    await refused(api, api.call('GET', '/api/dashboard?x=1'), 400, 'x');
    // Bad bulk and dead-letter requests (here, while no worker moves the ledger).
    await refused(api, api.call('POST', '/api/jobs/bulk', { body: { action: 'delete', filter: {}, reason: 'x' } }), 400, 'action');
    await refused(api, api.call('POST', '/api/jobs/bulk', { body: { action: 'retry', filter: { colour: 'red' }, reason: 'x' } }), 400, 'filter.colour');
    await refused(api, api.call('POST', '/api/jobs/bulk', { body: { action: 'retry', filter: {} } }), 400, 'reason');
    await refused(api, api.call('POST', '/api/dead-letters/retry', { body: { reason: 'x' } }), 400, 'jobIds');
    await refused(api, api.call('GET', '/api/dead-letters?cursor=zzz'), 400, 'cursor');
  });

  it('pause and resume a pipeline, a queue and everything, each once, as ledger events with actor and reason', async () => {
    const pause = await api.call('POST', '/api/pipelines/api_test/pause', { body: { reason: 'maintenance' } });
    assert.equal(pause.status, 202, JSON.stringify(pause.body));
    assert.equal(pause.body.changed, true);
    const again = await api.call('POST', '/api/pipelines/api_test/pause', { body: {} });
    assert.deepEqual(again.body, { changed: false, position: null });
    const ev = await db.pool.query('select type, data, metadata from ledger.events where position = $1', [pause.body.position]);
    assert.equal(ev.rows[0].type, 'queue.paused');
    assert.equal(ev.rows[0].metadata.actor, 'admin');
    assert.equal(ev.rows[0].metadata.reason, 'maintenance');
    assert.equal((await api.call('GET', '/api/pipelines')).body.data.find((x: { name: string }) => x.name === 'api_test').paused, true);
    assert.equal((await api.call('POST', '/api/pipelines/api_test/resume', { body: {} })).body.changed, true);

    const qp = await api.call('POST', '/api/queues/background/pause', { body: { reason: 'night' } });
    assert.equal(qp.status, 202);
    const qev = await db.pool.query('select stream_id, data from ledger.events where position = $1', [qp.body.position]);
    assert.deepEqual(qev.rows[0].data, { pipeline: null, queue: 'background', reason: 'night' });
    assert.equal((await api.call('GET', '/api/queues')).body.data.find((x: { queue: string }) => x.queue === 'background').paused, true);
    // A job in the paused queue does not start; others do.
    workers.push(await startTestWorker(db.url));
    const bg = await api.call('POST', '/api/jobs', { body: { pipeline: 'api_test', input: { url: 'https://x.io/bg' }, priority: 'background' } });
    const normal = await api.call('POST', '/api/jobs', { body: { pipeline: 'api_test', input: { url: 'https://x.io/n' } } });
    const state = async (id: string) => (await db.pool.query('select state from pipelines.jobs where job_id = $1', [id])).rows[0].state;
    await eventually(async () => (await state(normal.body.id)) === 'completed');
    assert.equal(await state(bg.body.id), 'queued');
    assert.equal((await api.call('POST', '/api/queues/background/resume', { body: {} })).body.changed, true);
    await eventually(async () => (await state(bg.body.id)) === 'completed');

    const all = await api.call('POST', '/api/pause', { body: { reason: 'everything' } });
    assert.equal(all.body.changed, true);
    assert.equal((await api.call('GET', '/api/queues')).body.pausedAll, true);
    assert.equal((await api.call('POST', '/api/resume', { body: {} })).body.changed, true);

    await refused(api, api.call('POST', '/api/pipelines/nope/pause', { body: {} }), 404, 'name');
    await refused(api, api.call('POST', '/api/queues/urgent/pause', { body: {} }), 400, 'name');
    await refused(api, api.call('POST', '/api/pipelines/Bad-Name/pause', { body: {} }), 400, 'name');
    await refused(api, api.call('POST', '/api/pause', { body: { reason: '' } }), 400, 'reason');
  });

  it('a throttle of one running step holds across two workers, and starts per second are spread', async () => {
    workers.push(await startTestWorker(db.url));
    const set = await api.call('PUT', '/api/pipelines/throttled/throttle', { body: { maxRunning: 1, startsPerSecond: null, reason: 'fragile upstream' } });
    assert.equal(set.status, 202, JSON.stringify(set.body));
    const ev = await db.pool.query('select type, data, metadata from ledger.events where position = $1', [set.body.position]);
    assert.equal(ev.rows[0].type, 'queue.throttled');
    assert.deepEqual(ev.rows[0].data, { pipeline: 'throttled', queue: null, maxRunning: 1, startsPerSecond: null, reason: 'fragile upstream' });
    assert.equal(ev.rows[0].metadata.actor, 'admin');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await api.call('POST', '/api/jobs', { body: { pipeline: 'throttled', input: { ms: 300 } } })).body.id);
    await eventually(async () => (await db.pool.query('select count(*)::int as n from throttle_runs')).rows[0].n === 6, 60_000, 'six throttled steps');
    const runs = (await db.pool.query<{ started: number; ended: number }>('select started, ended from throttle_runs order by started')).rows;
    for (let i = 1; i < runs.length; i++) assert.ok(runs[i]!.started >= runs[i - 1]!.ended, `run ${i} started before run ${i - 1} ended`);
    const listed = await api.call('GET', '/api/pipelines');
    assert.equal(listed.body.data.find((x: { name: string }) => x.name === 'throttled').throttle.maxRunning, 1);

    // Two starts a second (bucket of two): six starts need at least two seconds.
    await db.pool.query('delete from throttle_runs');
    await api.call('PUT', '/api/pipelines/throttled/throttle', { body: { maxRunning: null, startsPerSecond: 2 } });
    for (let i = 0; i < 6; i++) await api.call('POST', '/api/jobs', { body: { pipeline: 'throttled', input: { ms: 0 } } });
    await eventually(async () => (await db.pool.query('select count(*)::int as n from throttle_runs')).rows[0].n === 6, 60_000, 'six rate-limited steps');
    const spread = (await db.pool.query<{ s: number }>('select max(started) - min(started) as s from throttle_runs')).rows[0]!.s;
    assert.ok(spread >= 1.9, `six starts at two a second took ${spread} s`);

    const lift = await api.call('PUT', '/api/pipelines/throttled/throttle', { body: { maxRunning: null, startsPerSecond: null } });
    assert.equal(lift.status, 202);
    assert.equal((await api.call('GET', '/api/pipelines')).body.data.find((x: { name: string }) => x.name === 'throttled').throttle, null);
    const { rows } = await db.pool.query('select count(*)::int as n from pipelines.step_slots');
    assert.equal(rows[0].n, 0, 'every slot was freed');

    await refused(api, api.call('PUT', '/api/pipelines/throttled/throttle', { body: { maxRunning: -1, startsPerSecond: null } }), 400, 'maxRunning');
    await refused(api, api.call('PUT', '/api/pipelines/throttled/throttle', { body: { maxRunning: 1.5, startsPerSecond: null } }), 400, 'maxRunning');
    await refused(api, api.call('PUT', '/api/pipelines/throttled/throttle', { body: { maxRunning: 1 } }), 400, 'startsPerSecond');
    await refused(api, api.call('PUT', '/api/queues/high/throttle', { body: { maxRunning: 1, startsPerSecond: 0 } }), 400, 'startsPerSecond');
  });

  it('bulk retry by filter under concurrent failures acts on exactly the jobs failed when it started, once each, with the actor', async () => {
    const post = (i: number) => api.call('POST', '/api/jobs', { body: { pipeline: 'api_test', input: { url: `https://x.io/bulk/${i}`, fail: true } } });
    for (let i = 0; i < 10; i++) await post(i);
    await eventually(async () => (await db.pool.query(`select count(*)::int as n from pipelines.jobs where state = 'failed' and input->>'url' like '%/bulk/%'`)).rows[0].n === 10);
    // More failures keep arriving while the dry run and the real run happen.
    let more = 100;
    let stop = false;
    const churn = (async () => {
      while (!stop) await post(more++);
    })();
    const filter = { pipeline: ['api_test'], q: '/bulk/' };
    const dry = await api.call('POST', '/api/jobs/bulk', { body: { action: 'retry', filter, reason: 'dry', dryRun: true } });
    const real = await api.call('POST', '/api/jobs/bulk', { body: { action: 'retry', filter, reason: 'upstream fixed' } });
    stop = true;
    await churn;
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(real.status, 200, JSON.stringify(real.body));
    // What "failed" meant at a ledger position: the job's last job.failed/job.retried up to it is job.failed.
    const failedAt = async (position: number) =>
      (
        await db.pool.query<{ id: string }>(
          `select stream_id as id from (
             select distinct on (stream_id) stream_id, type from ledger.events
              where type in ('job.failed', 'job.retried') and position <= $1 and data->>'pipeline' = 'api_test'
              order by stream_id, position desc) last
            join pipelines.jobs j on j.job_id::text = last.stream_id
           where last.type = 'job.failed' and j.input->>'url' like '%/bulk/%'`,
          [position],
        )
      ).rows.map((r) => r.id);
    assert.equal(dry.body.matched, (await failedAt(dry.body.asOf)).length, 'the dry run counted the jobs failed at its moment');
    assert.equal(dry.body.acted, 0);
    const expected = (await failedAt(real.body.asOf)).sort();
    assert.equal(real.body.matched, expected.length);
    assert.equal(real.body.acted + real.body.skipped, real.body.matched);
    assert.equal(real.body.skipped, 0);
    assert.deepEqual([...real.body.jobIds].sort(), expected, 'exactly the jobs failed when it started');
    const retried = await db.pool.query<{ id: string; n: number; actors: string[]; reasons: string[] }>(
      `select stream_id as id, count(*)::int as n, array_agg(metadata->>'actor') as actors, array_agg(metadata->>'reason') as reasons
         from ledger.events where type = 'job.retried' and position > $1 group by stream_id`,
      [real.body.asOf],
    );
    assert.deepEqual(retried.rows.map((r) => r.id).sort(), expected);
    for (const row of retried.rows) {
      assert.equal(row.n, 1);
      assert.deepEqual(row.actors, ['admin']);
      assert.deepEqual(row.reasons, ['upstream fixed']);
    }
  });

  it('dead letters page with a cursor and retry one by id', async () => {
    // Still: no worker fails jobs while the pages are read.
    for (const worker of workers.splice(0)) await worker.stop();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: Reply = await api.call('GET', `/api/dead-letters?pipeline=api_test&limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      seen.push(...r.body.data.map((d: { jobId: string }) => d.jobId));
      cursor = r.body.next;
    } while (cursor);
    const { rows } = await db.pool.query<{ id: string }>(`select job_id::text as id from pipelines.jobs where state = 'failed' and pipeline = 'api_test' order by finished_at desc, job_id desc`);
    assert.deepEqual(seen, rows.map((r) => r.id));
    if (seen.length > 0) {
      const one = await api.call('POST', '/api/dead-letters/retry', { body: { jobIds: [seen[0]], reason: 'one more try' } });
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.equal(one.body.acted + one.body.skipped, 1);
    }
  });
});
