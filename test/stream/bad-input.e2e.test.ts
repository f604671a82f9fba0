import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode } from '../../src/stream/close-codes.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { appendMany, range, record, startStack, type Frame, type Recorder, type Stack } from '../helpers/stream.js';

const MAX_MESSAGE = 1024 * 1024;

describe('bad input on the stream (invariant 7)', () => {
  let db: TestDatabase;
  let stack: Stack;
  let witness: Recorder;
  let witnessFrom: number;

  before(async () => {
    db = await createTestDatabase();
    stack = await startStack(db, { maxConnectionsPerIp: 20, maxMessageBytes: MAX_MESSAGE });
    await appendMany(db.pool, 20);
    witnessFrom = 20;
    // Receives everything throughout; checked at the end to prove nobody else's bad input disturbed it.
    witness = record(`${stack.url}?from=${witnessFrom}`);
    await eventually(() => witness.frames.some((frame) => frame.type === 'caught_up'), 10_000, 'the witness to be live');
  });
  after(async () => {
    await witness.close();
    await stack.close();
    await db.drop();
  });

  const errorFrame = (client: Recorder): Frame | undefined => client.frames.find((frame) => frame.type === 'error');
  const live = async (client: Recorder) => eventually(() => client.frames.some((f) => f.type === 'caught_up'), 10_000, 'caught_up');

  it('answers invalid JSON, unknown message types and bad subscribe messages with error frames and keeps the connection', async () => {
    const client = record(`${stack.url}?from=20`);
    await live(client);
    client.send('{not json');
    client.send({ type: 'launch' });
    client.send([1, 2]);
    client.send({ type: 'subscribe', filter: { types: ['nope.nothing'] } });
    client.send({ type: 'subscribe', filter: { color: 'red' } });
    client.send({ type: 'subscribe', from: -1 });
    client.send({ type: 'subscribe', from: 'abc' });
    client.send({ type: 'subscribe', from: 10_000_000 });
    client.send({ type: 'ping', id: 7 });
    await eventually(() => client.frames.some((frame) => frame.type === 'pong'), 10_000, 'pong');
    const errors = client.frames.filter((frame) => frame.type === 'error').map((frame) => [frame.code, frame.field]);
    assert.deepEqual(errors.slice(0, 7), [
      ['invalid_json', 'message'],
      ['unknown_type', 'type'],
      ['invalid_message', 'message'],
      ['invalid_filter', 'filter.types'],
      ['invalid_filter', 'filter.color'],
      ['invalid_offset', 'from'],
      ['invalid_offset', 'from'],
    ]);
    // The future offset is checked against the database, so its answer may come after the pong.
    await eventually(() => client.frames.some((frame) => frame.code === 'future_offset' && frame.field === 'from'), 10_000, 'future_offset');
    assert.equal(client.closed, undefined);
    // Still subscribed as before: a live delta arrives.
    const before = client.offsets.length;
    await appendMany(db.pool, 1);
    await eventually(() => client.offsets.length === before + 1, 10_000, 'a live delta after the bad messages');
    await client.close();
  });

  for (const [query, code, field] of [
    ['from=-5', 'invalid_offset', 'from'],
    ['from=abc', 'invalid_offset', 'from'],
    ['from=1.5', 'invalid_offset', 'from'],
    ['from=99999999', 'future_offset', 'from'],
    ['types=job.exploded', 'invalid_filter', 'types'],
    ['stats=maybe', 'invalid_filter', 'stats'],
    ['job=', 'invalid_filter', 'job'],
  ] as const) {
    it(`refuses ?${query} with an error frame naming ${field} and close ${CloseCode.badRequest}`, async () => {
      const client = record(`${stack.url}?${query}`);
      await eventually(() => client.closed !== undefined, 10_000, 'the close');
      assert.equal(client.closed!.code, CloseCode.badRequest);
      assert.match(client.closed!.reason, new RegExp(`^bad_request ${field}`));
      assert.deepEqual([errorFrame(client)?.code, errorFrame(client)?.field], [code, field]);
    });
  }

  it('closes a connection that sends a frame over the message limit', async () => {
    const client = record(`${stack.url}?from=20`);
    await live(client);
    client.send('x'.repeat(MAX_MESSAGE + 1));
    await eventually(() => client.closed !== undefined, 10_000, 'the close');
    assert.deepEqual(client.closed, { code: 1009, reason: `message_too_big max=${MAX_MESSAGE}` });
  });

  it('drops a connection that sends a frame of more than twice the limit', async () => {
    const client = record(`${stack.url}?from=20`);
    await live(client);
    client.send('x'.repeat(3 * MAX_MESSAGE));
    await eventually(() => client.closed !== undefined, 10_000, 'the close');
    assert.equal(client.closed!.code, 1006);
  });

  it(`closes connections over the per-address cap with ${CloseCode.tooManyConnections}`, async () => {
    // The witness holds one of the 20 slots.
    assert.equal(stack.server.connections, 1);
    const flood = Array.from({ length: 40 }, () => record(`${stack.url}`));
    await eventually(() => flood.filter((client) => client.closed !== undefined).length === 21, 10_000, '21 refusals');
    const refused = flood.filter((client) => client.closed !== undefined);
    for (const client of refused) {
      assert.equal(client.closed!.code, CloseCode.tooManyConnections);
      assert.match(client.closed!.reason, /^too_many_connections/);
    }
    await eventually(() => flood.filter((client) => client.frames.some((f) => f.type === 'caught_up')).length === 19, 10_000, '19 accepted');
    await Promise.all(flood.map((client) => client.close()));
    // Slots are given back.
    await eventually(() => stack.server.connections === 1, 10_000, 'only the witness left');
    const again = record(stack.url);
    await live(again);
    await again.close();
  });

  it('kept serving the witness exactly throughout', async () => {
    await appendMany(db.pool, 10);
    const head = Number((await db.pool.query('select max(position) as h from ledger.events')).rows[0].h);
    await eventually(() => witness.reached === head, 10_000, 'the witness to reach the head');
    assert.deepEqual(witness.offsets, range(witnessFrom, head));
    assert.equal(witness.closed, undefined);
  });
});

describe('token on the stream', () => {
  let db: TestDatabase;
  let stack: Stack;
  before(async () => {
    db = await createTestDatabase();
    stack = await startStack(db, { token: 's3cret' });
  });
  after(async () => {
    await stack.close();
    await db.drop();
  });

  it(`refuses a missing or wrong token with ${CloseCode.unauthorized}, accepts it in the query or the Authorization header`, async () => {
    for (const url of [stack.url, `${stack.url}?token=wrong`, `${stack.url}?token=`]) {
      const client = record(url);
      await eventually(() => client.closed !== undefined, 10_000, 'the refusal');
      assert.deepEqual(client.closed, { code: CloseCode.unauthorized, reason: 'unauthorized' });
      assert.equal(client.frames.length, 0, 'nothing is sent before the refusal');
    }
    const wrongHeader = record(stack.url, { headers: { authorization: 'Bearer nope' } });
    await eventually(() => wrongHeader.closed !== undefined, 10_000, 'the refusal');
    assert.equal(wrongHeader.closed!.code, CloseCode.unauthorized);

    for (const client of [record(`${stack.url}?token=s3cret`), record(stack.url, { headers: { authorization: 'Bearer s3cret' } })]) {
      await eventually(() => client.frames.some((f) => f.type === 'caught_up'), 10_000, 'accepted');
      await client.close();
    }
  });
});
