import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from '../../src/api/app.js';
import { createAddressLimit } from '../../src/stream/address-limit.js';
import { createStreamClient } from '../../src/client/client.js';
import { applyDeltas, emptyModel } from '../../src/projections/reducer.js';
import { readSse, type SseEvent } from '../../src/client/sse.js';
import { freePort } from '../../src/ops/database.js';
import { readConfig } from '../../src/ops/config.js';
import { createLogger } from '../../src/ops/logger.js';
import { read } from '../../src/ledger/read.js';
import { eventToDeltas } from '../../src/projections/event-to-deltas.js';
import { snapshot } from '../../src/projections/snapshot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { appendMany, range, startStack, type Stack } from '../helpers/stream.js';

const TOKEN = 'sse-token';
const CAP = 3;

describe('SSE fallback: GET /api/stream', () => {
  let db: TestDatabase;
  let stack: Stack;
  let http: ServerType;
  let base: string;
  const shutdown = new AbortController();
  const addressLimit = createAddressLimit(CAP);

  before(async () => {
    db = await createTestDatabase();
    stack = await startStack(db, { token: TOKEN });
    const app = createApp({
      config: { ...readConfig({}), token: TOKEN },
      db: db.pool,
      feed: stack.feed,
      logger: createLogger('silent'),
      serverId: 'sse-test',
      snapshot: (slice) => snapshot(db.pool, slice),
      shutdown: shutdown.signal,
      heartbeatMs: 100,
      addressLimit,
    });
    http = await new Promise<ServerType>((resolve) => {
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(server));
    });
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/api/stream`;
    await appendMany(db.pool, 40);
  });
  after(async () => {
    shutdown.abort();
    await new Promise((resolve) => http.close(resolve));
    await stack.close();
    await db.drop();
  });

  const auth = { authorization: `Bearer ${TOKEN}` };
  const head = async () => Number((await db.pool.query('select coalesce(max(position), 0) as h from ledger.events')).rows[0].h);

  /** Reads the stream until `until` says stop; returns the events seen. */
  const listen = async (url: string, headers: Record<string, string>, until: (events: SseEvent[]) => boolean) => {
    const events: SseEvent[] = [];
    const abort = new AbortController();
    const done = readSse(fetch, url, { headers, signal: abort.signal }, (event) => {
      events.push(event);
      if (until(events)) abort.abort();
    }).catch((error: Error) => {
      if (!abort.signal.aborted) throw error;
    });
    await done;
    return events;
  };
  const deltaOffsets = (events: SseEvent[]) =>
    events.filter((e) => e.event === 'deltas').flatMap((e) => (JSON.parse(e.data).deltas as { offset: number }[]).map((d) => d.offset));

  it('streams deltas with id: set to the offset, then resumes exactly from Last-Event-ID', async () => {
    const first = await listen(`${base}?from=10`, auth, (events) => events.some((e) => e.event === 'caught_up'));
    const ids = first.filter((e) => e.id !== undefined).map((e) => Number(e.id));
    assert.equal(ids[ids.length - 1], 40);
    assert.deepEqual(deltaOffsets(first), range(10, 40));
    for (const event of first.filter((e) => e.event === 'deltas')) assert.equal(Number(event.id), JSON.parse(event.data).upTo);

    await appendMany(db.pool, 25);
    const to = await head();
    // Last-Event-ID wins over from=, as it does when an EventSource reconnects.
    const resumed = await listen(`${base}?from=0`, { ...auth, 'last-event-id': '33' }, (events) =>
      events.some((e) => e.event === 'caught_up') && events.some((e) => Number(e.id) === to),
    );
    assert.deepEqual(deltaOffsets(resumed), range(33, to));
    assert.equal(JSON.parse(resumed.find((e) => e.event === 'hello')!.data).from, 33);
  });

  it('applies the same filters, sends heartbeat comments, and answers bad input with a problem naming the field', async () => {
    const from = await head();
    const reading = listen(`${base}?from=${from}&job=job-2&token=${TOKEN}`, {}, (events) => deltaOffsets(events).length >= 3);
    await appendMany(db.pool, 30);
    const events = await reading;
    const offsets = deltaOffsets(events);
    const expected = (await read(db.pool, { after: from, limit: 1000 })).flatMap(eventToDeltas).filter((d) => d.jobId === 'job-2');
    assert.deepEqual(offsets, expected.slice(0, offsets.length).map((d) => d.offset));

    // Heartbeats are comments: readSse drops them, so look at the raw text.
    const response = await fetch(`${base}?token=${TOKEN}`);
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes(': heartbeat')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();

    for (const [query, headers, status, field] of [
      ['from=-1', auth, 400, 'from'],
      ['from=x', auth, 400, 'from'],
      ['from=999999', auth, 400, 'from'],
      ['types=nope', auth, 400, 'types'],
      ['', { ...auth, 'last-event-id': 'abc' }, 400, 'Last-Event-ID'],
      ['', {}, 401, 'token'],
      ['token=wrong', {}, 401, 'token'],
    ] as const) {
      const res = await fetch(`${base}?${query}`, { headers });
      assert.equal(res.status, status, query);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const problem = (await res.json()) as { field: string; status: number; detail: string };
      assert.equal(problem.field, field);
      assert.equal(problem.status, status);
    }
  });

  it(`caps open streams per address at ${CAP} with a 429 problem`, async () => {
    await eventually(() => addressLimit.count('127.0.0.1') === 0, 10_000, 'earlier streams to be released');
    const open = Array.from({ length: CAP }, () => new AbortController());
    const responses = await Promise.all(open.map((abort) => fetch(base, { headers: auth, signal: abort.signal })));
    assert.deepEqual(responses.map((r) => r.status), Array(CAP).fill(200));
    const refused = await fetch(base, { headers: auth });
    assert.equal(refused.status, 429);
    assert.equal(((await refused.json()) as { field: string }).field, 'address');
    for (const abort of open) abort.abort();
    await eventually(() => addressLimit.count('127.0.0.1') === 0, 10_000, 'the slots to be released');
    const again = new AbortController();
    assert.equal((await fetch(base, { headers: auth, signal: again.signal })).status, 200);
    again.abort();
  });

  it('the typed client falls back to SSE when WebSockets fail, and keeps the model', async () => {
    const deadPort = await freePort();
    const changed: number[] = [];
    const client = createStreamClient({
      url: `ws://127.0.0.1:${deadPort}/ws`,
      sseUrl: base,
      from: 0,
      token: TOKEN,
      WebSocket: (await import('ws')).default as never,
      backoff: { initialMs: 10, maxMs: 50 },
      onChange: (_model, deltas) => changed.push(...deltas.map((d) => d.offset)),
    });
    await appendMany(db.pool, 10);
    const to = await head();
    await eventually(() => client.offset === to, 10_000, 'the SSE client to reach the head');
    assert.equal(client.transport, 'sse');
    const all = (await read(db.pool, { after: 0, limit: 10_000 })).flatMap(eventToDeltas);
    assert.deepEqual(changed, all.map((d) => d.offset));
    assert.deepEqual(client.model, applyDeltas(emptyModel(), all));
    client.close();
  });
});
