import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { CloseCode } from '../../src/stream/close-codes.js';
import { loadUws, nativeBindingPath } from '../../src/stream/native.js';
import { readSse } from '../../src/client/sse.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { spawnServe, type ServeProcess } from '../helpers/serve-process.js';
import { appendMany, range, record } from '../helpers/stream.js';

const head = async (db: TestDatabase) => Number((await db.pool.query('select coalesce(max(position), 0) as h from ledger.events')).rows[0].h);

describe('runledger serve processes', () => {
  let db: TestDatabase;
  let a: ServeProcess;
  let b: ServeProcess;

  before(async () => {
    db = await createTestDatabase();
    await appendMany(db.pool, 50);
    [a, b] = await Promise.all([spawnServe(db.url), spawnServe(db.url)]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db.drop();
  });

  it('runs on the native uWebSockets.js binding, not the JS fallback', () => {
    const binding = nativeBindingPath();
    assert.match(binding, /uws_linux_x64_\d+\.node$|uws_\w+_\w+_\d+\.node$/);
    // The served process has the shared object mapped into its memory.
    for (const server of [a, b]) {
      const maps = fs.readFileSync(`/proc/${server.pid}/maps`, 'utf8');
      assert.ok(maps.includes(fs.realpathSync(binding)), `${binding} is not mapped into process ${server.pid}`);
    }
    // In this process: the binding's App is native code and the package's fallback was never loaded.
    const uws = loadUws();
    assert.match(Function.prototype.toString.call(uws.App), /\[native code\]/);
    const require = createRequire(import.meta.url);
    const fallback = require.resolve('uWebSockets.js/dist/index.js');
    assert.equal(require.cache[fallback], undefined);
  });

  it('refuses to bind to a non-loopback address without a token', async () => {
    await assert.rejects(spawnServe(db.url, { HOST: '0.0.0.0' }), /refusing to bind to 0\.0\.0\.0 without a token/);
  });

  it('a client of B receives events appended while connected to A', async () => {
    const from = await head(db);
    const onA = record(`ws://127.0.0.1:${a.wsPort}/ws?from=${from}`);
    const onB = record(`ws://127.0.0.1:${b.wsPort}/ws?from=${from}`);
    await eventually(() => [onA, onB].every((c) => c.frames.some((f) => f.type === 'caught_up')), 10_000, 'both live');
    const helloA = onA.frames.find((f) => f.type === 'hello')!;
    const helloB = onB.frames.find((f) => f.type === 'hello')!;
    assert.notEqual(helloA.server, helloB.server);
    await appendMany(db.pool, 120, {}, 40);
    const to = await head(db);
    await eventually(() => onB.reached === to && onA.reached === to, 10_000, 'both to receive everything');
    assert.deepEqual(onB.offsets, range(from, to));
    assert.deepEqual(onA.offsets, range(from, to));
    await Promise.all([onA.close(), onB.close()]);
  });

  it('closes sockets and SSE streams with the shutdown code and a resume offset on SIGTERM; B resumes them exactly', async () => {
    const from = await head(db);
    const ws = record(`ws://127.0.0.1:${a.wsPort}/ws?from=${from - 10}`);
    await eventually(() => ws.frames.some((f) => f.type === 'caught_up'), 10_000, 'live');
    const sse: { event: string; data: Record<string, unknown> }[] = [];
    const abort = new AbortController();
    const reading = readSse(fetch, `http://127.0.0.1:${a.httpPort}/api/stream?from=${from - 5}`, { headers: {}, signal: abort.signal }, (e) =>
      sse.push({ event: e.event, data: JSON.parse(e.data) }),
    ).catch((error: Error) => error);
    await eventually(() => sse.some((e) => e.event === 'caught_up'), 10_000, 'SSE live');
    await appendMany(db.pool, 30);
    const mid = await head(db);
    await eventually(() => ws.reached === mid, 10_000, 'the client to reach the head');
    assert.equal(await a.stop('SIGTERM'), 0);
    await eventually(() => ws.closed !== undefined, 10_000, 'the shutdown close');
    assert.deepEqual(ws.closed, { code: CloseCode.shuttingDown, reason: `shutting_down from=${mid}` });
    assert.equal(await reading, undefined, 'the SSE response ended cleanly');
    const last = sse[sse.length - 1]!;
    assert.equal(last.event, 'stream_error');
    assert.equal(last.data.code, 'shutting_down');
    assert.equal(last.data.from, mid);

    // Resume on B from the offset in the close reason.
    await appendMany(db.pool, 20);
    const end = await head(db);
    const resumed = record(`ws://127.0.0.1:${b.wsPort}/ws?from=${/from=(\d+)/.exec(ws.closed!.reason)![1]}`);
    await eventually(() => resumed.reached === end, 10_000, 'the resumed client to reach the head');
    assert.deepEqual([...ws.offsets, ...resumed.offsets], range(from - 10, end));
    await resumed.close();
  });
});
