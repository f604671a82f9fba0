import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startTestWorker } from '../pipelines/helpers.js';
import { ADMIN, projected, registerTestPipeline, startApi, type Api, type Reply } from './helpers.js';

/** The request was refused with a problem naming `field`, and nothing was written. */
async function refused(api: Api, reply: Promise<Reply>, status: number, field: string) {
  const before = await api.head();
  const r = await reply;
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
  assert.equal(r.body.status, status);
  assert.ok(typeof r.body.type === 'string' && typeof r.body.title === 'string' && typeof r.body.detail === 'string');
  assert.ok(
    r.body.errors.some((e: { field: string }) => e.field === field),
    `errors ${JSON.stringify(r.body.errors)} should name ${field}`,
  );
  assert.equal(r.body.requestId, r.headers.get('x-request-id'));
  assert.equal(await api.head(), before, 'a refused request writes nothing');
  return r;
}

describe('operators API: jobs', () => {
  let db: TestDatabase;
  let api: Api;
  before(async () => {
    registerTestPipeline();
    db = await createTestDatabase();
    api = await startApi(db);
  });
  after(async () => {
    await api.close();
    await db.drop();
  });

  it('POST /api/jobs creates a job whose events name the actor and the request', async () => {
    const r = await api.call('POST', '/api/jobs', { body: { pipeline: 'api_test', input: { url: 'https://example.com/a' }, priority: 'high' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.match(r.body.id, /^[0-9a-f-]{36}$/);
    const { rows } = await db.pool.query('select position, type, data, metadata from ledger.events where stream_id = $1 order by position', [r.body.id]);
    assert.equal(Number(rows[0].position), r.body.position);
    assert.equal(rows[0].type, 'job.created');
    assert.equal(rows[0].data.priority, 'high');
    assert.equal(rows[0].metadata.actor, 'admin');
    assert.equal(rows[0].metadata.requestId, r.headers.get('x-request-id'));
    // The request's log line carries the same id.
    assert.ok(api.logs.some((line) => line.requestId === r.headers.get('x-request-id') && line.status === 201));
  });

  it('refuses bad input to POST /api/jobs naming the field, writing nothing', async () => {
    const post = (body: unknown, headers: Record<string, string> = {}) => api.call('POST', '/api/jobs', { body, headers });
    await refused(api, post({ input: {} }), 400, 'pipeline');
    await refused(api, post({ pipeline: 42, input: {} }), 400, 'pipeline');
    await refused(api, post({ pipeline: 'api_test', input: { url: 'https://x.io' }, priority: 'urgent' }), 400, 'priority');
    await refused(api, post({ pipeline: 'api_test', input: { url: 'https://x.io' }, colour: 'red' }), 400, 'colour');
    await refused(api, post({ pipeline: 'no_such_pipeline', input: {} }), 422, 'pipeline');
    await refused(api, post({ pipeline: 'api_test', input: { url: 'not a url' } }), 422, 'input.url');
    await refused(api, post({ pipeline: 'api_test', input: { url: 'https://x.io' } }, { 'idempotency-key': 'has space' }), 400, 'idempotency-key');
    await refused(api, api.call('POST', '/api/jobs', { raw: '{"pipeline": ' }), 400, 'body');
    const huge = JSON.stringify({ pipeline: 'api_test', input: { url: 'https://x.io', pad: 'x'.repeat(1024 * 1024 + 10) } });
    await refused(api, api.call('POST', '/api/jobs', { raw: huge }), 413, 'body');
  });

  it('20 concurrent POSTs with one Idempotency-Key create exactly one job', async () => {
    const body = { pipeline: 'api_test', input: { url: 'https://example.com/once' } };
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => api.call('POST', '/api/jobs', { body, headers: { 'idempotency-key': 'key-20' } })),
    );
    const ids = new Set(replies.map((r) => r.body.id));
    assert.equal(ids.size, 1, 'one job id for all');
    assert.deepEqual(replies.map((r) => r.status).sort(), [...Array(19).fill(200), 201], 'one 201, then the same answer as 200');
    assert.equal(new Set(replies.map((r) => r.body.position)).size, 1, 'the same position for all');
    const { rows } = await db.pool.query(`select count(*)::int as n from ledger.events where type = 'job.created' and data->'input'->>'url' = 'https://example.com/once'`);
    assert.equal(rows[0].n, 1);
    // The same key with another body is a conflict.
    await refused(
      api,
      api.call('POST', '/api/jobs', { body: { ...body, input: { url: 'https://example.com/other' } }, headers: { 'idempotency-key': 'key-20' } }),
      409,
      'Idempotency-Key',
    );
  });

  it('GET /api/jobs filters, pages newest first with an opaque cursor, and refuses bad queries', async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await api.call('POST', '/api/jobs', { body: { pipeline: 'api_test', input: { url: `https://example.com/page/${i}` }, priority: i % 2 ? 'background' : 'normal' } });
      created.push(r.body.id);
    }
    await projected(api, db);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: Reply = await api.call('GET', `/api/jobs?q=example.com/page/&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(r.body.data.length <= 3);
      seen.push(...r.body.data.map((j: { id: string }) => j.id));
      cursor = r.body.next;
    } while (cursor);
    assert.deepEqual(seen, [...created].reverse(), 'every job once, newest first');
    const background = await api.call('GET', '/api/jobs?priority=background&status=queued&pipeline=api_test&q=page');
    assert.deepEqual(background.body.data.map((j: { id: string }) => j.id), [created[5], created[3], created[1]]);
    const none = await api.call('GET', `/api/jobs?createdAfter=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    assert.deepEqual(none.body.data, []);

    await refused(api, api.call('GET', '/api/jobs?cursor=bm9wZQ'), 400, 'cursor');
    await refused(api, api.call('GET', '/api/jobs?limit=501'), 400, 'limit');
    await refused(api, api.call('GET', '/api/jobs?limit=ten'), 400, 'limit');
    await refused(api, api.call('GET', '/api/jobs?status=sleeping'), 400, 'status');
    await refused(api, api.call('GET', '/api/jobs?colour=red'), 400, 'colour');
    await refused(api, api.call('GET', '/api/jobs?createdAfter=yesterday'), 400, 'createdAfter');
  });

  it('GET /api/jobs/:id has steps and timeline; /events has positions; unknown and malformed ids are refused', async () => {
    const c = await api.call('POST', '/api/jobs', { body: { pipeline: 'api_test', input: { url: 'https://example.com/detail' } } });
    await projected(api, db);
    const r = await api.call('GET', `/api/jobs/${c.body.id}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.job.id, c.body.id);
    assert.equal(r.body.job.status, 'queued');
    assert.deepEqual(r.body.steps.map((s: { step: string }) => s.step), ['only']);
    assert.deepEqual(r.body.timeline.map((t: { type: string }) => t.type), ['job.created', 'step.queued']);
    assert.equal(r.body.timeline[0].actor, 'admin');
    const events = await api.call('GET', `/api/jobs/${c.body.id}/events`);
    assert.deepEqual(events.body.data.map((e: { position: number }) => e.position), [c.body.position, c.body.position + 1]);
    await refused(api, api.call('GET', '/api/jobs/00000000-0000-4000-8000-000000000000'), 404, 'id');
    await refused(api, api.call('GET', '/api/jobs/not-a-uuid'), 400, 'id');
    await refused(api, api.call('GET', '/api/jobs/00000000-0000-4000-8000-000000000000/events'), 404, 'id');
    await refused(api, api.call('GET', `/api/jobs/${c.body.id}/events?after=-1`), 400, 'after');
    await refused(api, api.call('GET', '/api/nothing-here'), 404, 'path');
  });

  it('cancel and retry answer 202 with the position of an event carrying actor, reason and request id', async () => {
    const c = await api.call('POST', '/api/jobs', { body: { pipeline: 'api_test', input: { url: 'https://example.com/cancel' } } });
    const cancel = await api.call('POST', `/api/jobs/${c.body.id}/cancel`, { body: { reason: 'customer asked' } });
    assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
    const { rows } = await db.pool.query('select type, data, metadata from ledger.events where position = $1', [cancel.body.position]);
    assert.equal(rows[0].type, 'job.cancelled');
    assert.equal(rows[0].data.reason, 'customer asked');
    assert.deepEqual(rows[0].metadata, { actor: 'admin', reason: 'customer asked', requestId: cancel.headers.get('x-request-id') });
    await refused(api, api.call('POST', `/api/jobs/${c.body.id}/cancel`, { body: {} }), 409, 'id');
    await refused(api, api.call('POST', `/api/jobs/${c.body.id}/retry`, { body: {} }), 409, 'id');
    await refused(api, api.call('POST', `/api/jobs/${c.body.id}/cancel`, { body: { reason: 7 } }), 400, 'reason');
    await refused(api, api.call('POST', '/api/jobs/00000000-0000-4000-8000-000000000000/retry', { body: {} }), 404, 'id');

    // A failed job, retried.
    const worker = await startTestWorker(db.url);
    try {
      const f = await api.call('POST', '/api/jobs', { body: { pipeline: 'api_test', input: { url: 'https://example.com/fail', fail: true } } });
      const { eventually } = await import('../helpers/ordering-harness.js');
      await eventually(async () => (await db.pool.query(`select state from pipelines.jobs where job_id = $1`, [f.body.id])).rows[0]?.state === 'failed');
      const dead = await api.call('GET', '/api/dead-letters?pipeline=api_test');
      assert.ok(dead.body.data.some((d: { jobId: string }) => d.jobId === f.body.id));
      await worker.stop();
      const retry = await api.call('POST', `/api/jobs/${f.body.id}/retry`, { body: { reason: 'fixed upstream' } });
      assert.equal(retry.status, 202, JSON.stringify(retry.body));
      const ev = await db.pool.query('select type, metadata from ledger.events where position = $1', [retry.body.position]);
      assert.equal(ev.rows[0].type, 'job.retried');
      assert.equal(ev.rows[0].metadata.actor, 'admin');
      assert.equal(ev.rows[0].metadata.reason, 'fixed upstream');
    } finally {
      await worker.stop();
    }
  });

  it('serves its OpenAPI 3.1 document and a reference page without any outside resource', async () => {
    const doc = await api.call('GET', '/api/openapi.json', { token: null });
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.1.0');
    for (const path of ['/api/jobs', '/api/jobs/{id}', '/api/jobs/{id}/events', '/api/jobs/{id}/retry', '/api/jobs/{id}/cancel', '/api/jobs/bulk',
      '/api/dead-letters', '/api/dead-letters/retry', '/api/pipelines', '/api/workers', '/api/queues', '/api/pipelines/{name}/throttle',
      '/api/queues/{name}/pause', '/api/pause', '/api/dashboard', '/api/stream-tickets', '/api/stream']) {
      assert.ok(doc.body.paths[path], `${path} documented`);
    }
    const page = await api.call('GET', '/api/docs', { token: null });
    assert.equal(page.status, 200);
    assert.match(page.body, /<h1>runledger operators API/);
    assert.match(page.body, /\/api\/jobs\/bulk/);
    assert.doesNotMatch(page.body, /<script|https?:\/\/(?!127\.0\.0\.1)[^"'\s]*\.(js|css)/, 'no script, nothing loaded from elsewhere');
    void ADMIN;
  });
});
