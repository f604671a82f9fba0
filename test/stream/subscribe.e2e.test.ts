import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { createStreamClient } from '../../src/client/client.js';
import { applyDeltas, emptyModel } from '../../src/projections/reducer.js';
import { read } from '../../src/ledger/read.js';
import { createLogger } from '../../src/ops/logger.js';
import { startProjector } from '../../src/projections/projector.js';
import { eventToDeltas } from '../../src/projections/event-to-deltas.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { appendMany, range, record, startStack, type Stack } from '../helpers/stream.js';

describe('subscriptions at runtime and snapshots', () => {
  let db: TestDatabase;
  let stack: Stack;

  before(async () => {
    db = await createTestDatabase();
    stack = await startStack(db, { replayLimit: 100 });
  });
  after(async () => {
    await stack.close();
    await db.drop();
  });
  const head = async () => Number((await db.pool.query('select coalesce(max(position), 0) as h from ledger.events')).rows[0].h);
  const allDeltas = async (after = 0) => (await read(db.pool, { after, limit: 100_000 })).flatMap(eventToDeltas);

  it('subscribe changes the filter without a gap, unsubscribe stops deltas, ping answers with the offset', async () => {
    await appendMany(db.pool, 20);
    const client = record(`${stack.url}?from=20&job=job-1`);
    await eventually(() => client.frames.some((f) => f.type === 'caught_up'), 10_000, 'live');
    await appendMany(db.pool, 14);
    await eventually(() => client.reached === 34, 10_000, 'position 34');
    client.send({ type: 'subscribe', filter: { job: 'job-2' } });
    await eventually(() => client.frames.some((f) => f.type === 'subscribed'), 10_000, 'subscribed');
    await appendMany(db.pool, 14);
    await eventually(() => client.reached === 48, 10_000, 'position 48');
    const expected = (await allDeltas(20)).filter((d) => (d.offset <= 34 ? d.jobId === 'job-1' : d.jobId === 'job-2'));
    assert.deepEqual(client.offsets, expected.map((d) => d.offset));
    assert.deepEqual(client.frames.find((f) => f.type === 'subscribed'), { type: 'subscribed', from: 34, filter: { job: 'job-2' } });

    client.send({ type: 'unsubscribe' });
    await eventually(() => client.frames.some((f) => f.type === 'unsubscribed'), 10_000, 'unsubscribed');
    const count = client.offsets.length;
    await appendMany(db.pool, 14);
    client.send({ type: 'ping', id: 'p1' });
    await eventually(() => client.frames.some((f) => f.type === 'pong'), 10_000, 'pong');
    assert.equal(client.offsets.length, count);
    assert.deepEqual(client.frames.find((f) => f.type === 'pong'), { type: 'pong', id: 'p1', offset: 48 });

    client.send({ type: 'subscribe', from: 48 });
    await eventually(() => client.reached === 62, 10_000, 'the missed deltas');
    assert.deepEqual(client.offsets.slice(count), range(48, 62));
    await client.close();
  });

  it('a client further behind than the replay limit starts from a snapshot, and its model equals the full replay', async () => {
    const projector = startProjector({ pool: db.pool, doorbell: stack.doorbell, logger: createLogger('silent'), pollMs: 500 });
    await appendMany(db.pool, 300);
    await projector.caughtUp();
    await projector.stop();
    await appendMany(db.pool, 150);
    const to = await head();

    const raw = record(`${stack.url}?from=0`);
    await eventually(() => raw.reached === to, 10_000, 'the raw client to reach the head');
    const snapshotFrame = raw.frames.find((f) => f.type === 'snapshot')!;
    assert.ok(snapshotFrame, 'a snapshot frame');
    const at = snapshotFrame.offset as number;
    assert.ok(at >= 300 && at < to, `snapshot at ${at}`);
    assert.deepEqual(raw.offsets, (await allDeltas(at)).map((d) => d.offset));
    await raw.close();

    const client = createStreamClient({ url: stack.url, WebSocket: WebSocket as never });
    await eventually(() => client.offset === to, 10_000, 'the typed client to reach the head');
    assert.deepEqual(client.model, applyDeltas(emptyModel(), await allDeltas(0)));
    client.close();
  });
});
