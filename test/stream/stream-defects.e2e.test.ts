import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/api/app.js';
import { readConfig } from '../../src/ops/config.js';
import { createLogger } from '../../src/ops/logger.js';
import { createAddressLimit } from '../../src/stream/address-limit.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { spawnServe, type ServeProcess } from '../helpers/serve-process.js';
import { appendMany, record } from '../helpers/stream.js';

/** One HTTP exchange over `agent`; the body is read to its end (or until `stopWhen` says so). */
function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; agent?: http.Agent; stopWhen?: (body: string) => boolean } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
        if (options.stopWhen?.(body)) {
          res.destroy();
          resolve({ status: res.statusCode!, headers: res.headers, body });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('stream defects found by testing the running server as a client would', () => {
  let db: TestDatabase;
  let serve: ServeProcess;
  const CAP = 3;

  before(async () => {
    db = await createTestDatabase(4);
    await appendMany(db.pool, 20);
    serve = await spawnServe(db.url, { RUNLEDGER_MAX_CONNECTIONS_PER_IP: String(CAP) });
  });
  after(async () => {
    await serve.stop('SIGKILL').catch(() => {});
    await db.drop();
  });

  it('HEAD /api/stream takes no stream slot: after many, SSE and WebSocket streams still open', async () => {
    const url = `http://127.0.0.1:${serve.httpPort}/api/stream`;
    for (let i = 0; i < CAP * 4; i += 1) {
      const head = await request(url, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.match(String(head.headers['content-type']), /^text\/event-stream/);
    }
    const sse = await request(url, { stopWhen: (body) => body.includes('event: hello') });
    assert.equal(sse.status, 200);
    const ws = record(`ws://127.0.0.1:${serve.wsPort}/ws`);
    await eventually(() => ws.frames.some((frame) => frame.type === 'hello') || ws.closed !== undefined, 10_000, 'hello or close');
    assert.equal(ws.closed, undefined, `closed: ${JSON.stringify(ws.closed)}`);
    await ws.close();
  });

  it('a request Node refuses before the app (oversized headers) gets a problem document', async () => {
    const socket = net.connect(serve.httpPort, '127.0.0.1');
    let raw = '';
    socket.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`GET /api/stream HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    await ended;
    const [head, body] = raw.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 431 /);
    assert.match(head!, /content-type: application\/problem\+json/i);
    const problem = JSON.parse(body!) as { status: number; code: string; field: string };
    assert.deepEqual([problem.status, problem.code, problem.field], [431, 'headers_too_large', 'headers']);
  });

  // Last: it stops the server.
  it('SIGTERM with an EventSource-like client reconnecting over a kept-alive connection: it is told its offset, never gets a fresh stream, and the process exits 0', async () => {
    const url = `http://127.0.0.1:${serve.httpPort}/api/stream`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = request(url, { agent });
    await eventually(async () => (await db.pool.query('select 1')).rowCount === 1, 1000, 'db');
    // Let the stream start before the signal.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const exited = serve.stop('SIGTERM');
    const ended = await first;
    assert.equal(ended.status, 200);
    const events = ended.body.split('\n\n').filter((block) => block.includes('event: '));
    const last = events.at(-1)!;
    // Not `event: error`: that name belongs to EventSource's own connection errors.
    assert.match(last, /^event: stream_error\n/m);
    const data = JSON.parse(/^data: (.*)$/m.exec(last)![1]!) as { type: string; code: string; from: number };
    assert.deepEqual([data.type, data.code, data.from], ['error', 'shutting_down', 20]);
    // The browser reconnects about a second later, with Last-Event-ID.
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 3; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      try {
        const again = await request(url, { agent, headers: { 'last-event-id': '20' } });
        statuses.push(again.status);
        if (again.status === 503) {
          assert.equal(again.headers['retry-after'], '5');
          assert.equal(again.headers.connection, 'close');
          assert.equal(JSON.parse(again.body).code, 'shutting_down');
        }
      } catch (error) {
        statuses.push((error as { code?: string }).code ?? 'error');
      }
    }
    assert.ok(statuses.every((status) => status === 503 || status === 'ECONNREFUSED' || status === 'ECONNRESET'), `reconnects got ${statuses.join(', ')}`);
    assert.equal(await exited, 0);
    agent.destroy();
  });
});

describe('SSE during shutdown, in-process', () => {
  it('GET /api/stream answers 503 with Retry-After and Connection: close once shutdown started', async () => {
    const shutdown = new AbortController();
    shutdown.abort();
    const app = createApp({
      config: readConfig({}),
      db: undefined as never,
      feed: { position: 0 } as never,
      logger: createLogger('silent'),
      serverId: 'test',
      shutdown: shutdown.signal,
      addressLimit: createAddressLimit(1),
    });
    const response = await app.request('/api/stream');
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '5');
    assert.equal(response.headers.get('connection'), 'close');
    assert.equal(response.headers.get('content-type'), 'application/problem+json');
    assert.equal(((await response.json()) as { code: string }).code, 'shutting_down');
  });
});
