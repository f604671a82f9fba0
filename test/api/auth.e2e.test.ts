import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode } from '../../src/stream/close-codes.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { spawnServe, type ServeProcess } from '../helpers/serve-process.js';
import { record } from '../helpers/stream.js';
import { startApi } from './helpers.js';

const ADMIN = 'e2e-admin-token';
const READ = 'e2e-read-token';

/** The first bytes of an SSE response (its hello), or the status when refused. */
async function sse(url: string, headers: Record<string, string> = {}): Promise<{ status: number; hello: boolean; wwwAuthenticate: string | null }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  if (res.status !== 200) {
    await res.text();
    return { status: res.status, hello: false, wwwAuthenticate: res.headers.get('www-authenticate') };
  }
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('event: hello')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString();
  }
  controller.abort();
  await reader.cancel().catch(() => {});
  return { status: 200, hello: text.includes('event: hello'), wwwAuthenticate: null };
}

/** Connects a WebSocket; true when it got its hello, false when closed as unauthorized. */
async function ws(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  const client = record(url, { headers });
  await eventually(() => client.frames.some((f) => f.type === 'hello') || client.closed !== undefined, 20_000, 'hello or close');
  const ok = client.frames.some((f) => f.type === 'hello') && client.closed === undefined;
  if (!ok) assert.equal(client.closed?.code, CloseCode.unauthorized, JSON.stringify(client.closed));
  await client.close();
  return ok;
}

describe('auth matrix against a real `serve`: none / read / admin / ticket × read / write × HTTP, WebSocket, SSE', () => {
  let db: TestDatabase;
  let serve: ServeProcess;
  let http: string;
  let wsUrl: string;
  before(async () => {
    db = await createTestDatabase();
    serve = await spawnServe(db.url, { RUNLEDGER_TOKEN: ADMIN, RUNLEDGER_READ_TOKENS: `viewer:${READ}`, HOST: '127.0.0.1' });
    http = `http://127.0.0.1:${serve.httpPort}`;
    wsUrl = `ws://127.0.0.1:${serve.wsPort}/ws`;
  });
  after(async () => {
    await serve?.stop();
    await db.drop();
  });

  const head = async () => Number((await db.pool.query('select coalesce(max(position), 0) as h from ledger.events')).rows[0].h);
  const call = async (method: string, path: string, token?: string) => {
    const res = await fetch(http + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: method === 'POST' ? JSON.stringify({ pipeline: 'content_agents', input: { prompt: 'auth matrix', speed: 100 } }) : undefined,
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
  };
  const ticket = async (token: string) => {
    const r = await call('POST', '/api/stream-tickets', token);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.ticket as string;
  };

  it('HTTP: reads need a token, writes need the admin token; 401 says how to authenticate', async () => {
    for (const [token, read, write] of [
      [undefined, 401, 401],
      ['wrong', 401, 401],
      [READ, 200, 403],
      [ADMIN, 200, 201],
    ] as const) {
      const before = await head();
      const r = await call('GET', '/api/jobs', token);
      assert.equal(r.status, read, `GET with ${token}`);
      const w = await call('POST', '/api/jobs', token);
      assert.equal(w.status, write, `POST with ${token}: ${JSON.stringify(w.body)}`);
      if (write !== 201) {
        assert.equal(await head(), before, 'a refused write appends nothing');
        assert.equal(w.body.errors[0].field, 'token');
      }
      if (read === 401) assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="runledger"');
      if (write === 201) {
        const { rows } = await db.pool.query('select metadata from ledger.events where position = $1', [w.body.position]);
        assert.equal(rows[0].metadata.actor, 'admin');
      }
    }
    // A read token's 403 names it; tickets are for streams only.
    const t = await ticket(READ);
    assert.equal((await fetch(`${http}/api/jobs?ticket=${t}`)).status, 401);
    assert.equal((await call('POST', '/api/pipelines/content_agents/pause', READ)).status, 403);
    assert.equal((await call('POST', '/api/stream-tickets')).status, 401);
  });

  it('WebSocket: header token (read or admin), ?token=, or a single-use ticket; nothing else', async () => {
    assert.equal(await ws(wsUrl), false, 'no token');
    assert.equal(await ws(`${wsUrl}?token=wrong`), false, 'wrong token');
    assert.equal(await ws(wsUrl, { authorization: `Bearer ${READ}` }), true, 'read token header');
    assert.equal(await ws(`${wsUrl}?token=${ADMIN}`), true, 'admin ?token=');
    const t = await ticket(READ);
    assert.equal(await ws(`${wsUrl}?ticket=${t}`), true, 'ticket');
    assert.equal(await ws(`${wsUrl}?ticket=${t}`), false, 'the same ticket again');
    assert.equal(await ws(`${wsUrl}?ticket=not-a-ticket-at-all-xxxxxxxx`), false, 'made-up ticket');
  });

  it('SSE: header token, ?token= or a single-use ticket', async () => {
    const none = await sse(`${http}/api/stream`);
    assert.equal(none.status, 401);
    assert.equal(none.wwwAuthenticate, 'Bearer realm="runledger"');
    assert.equal((await sse(`${http}/api/stream`, { authorization: `Bearer ${READ}` })).hello, true);
    assert.equal((await sse(`${http}/api/stream?token=${ADMIN}`)).hello, true);
    const t = await ticket(ADMIN);
    assert.equal((await sse(`${http}/api/stream?ticket=${t}`)).hello, true);
    assert.equal((await sse(`${http}/api/stream?ticket=${t}`)).status, 401, 'a ticket works once');
    // The request log line carries the actor and the request id.
    await eventually(() => serve.logs.some((l) => l.msg === 'request' && l.path === '/api/stream' && l.actor === 'viewer' && typeof l.requestId === 'string'));
  });
});

describe('write rate limit per address', () => {
  it('answers 429 with Retry-After once the burst is spent, before doing anything', async () => {
    const db = await createTestDatabase();
    const api = await startApi(db, { writeRatePerSecond: 0.5, writeBurst: 3 });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const r = await api.call('POST', '/api/jobs', { body: { pipeline: 'nope', input: {} } });
        statuses.push(r.status);
        if (r.status === 429) {
          retryAfter = r.headers.get('retry-after');
          assert.equal(r.body.code, 'rate_limited');
        }
      }
      assert.deepEqual(statuses, [422, 422, 422, 429, 429]);
      assert.ok(Number(retryAfter) >= 1);
      assert.equal((await api.call('GET', '/api/jobs')).status, 200, 'reads are not limited');
    } finally {
      await api.close();
      await db.drop();
    }
  });
});
