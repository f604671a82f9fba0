import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { append } from '../../src/ledger/append.js';
import { read } from '../../src/ledger/read.js';
import { applyDeltas, emptyModel } from '../../src/projections/reducer.js';
import { createStreamClient, type WebSocketConstructor, type WebSocketLike } from '../../src/client/client.js';
import type { Delta } from '../../src/projections/delta.js';
import { eventToDeltas } from '../../src/projections/event-to-deltas.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually, runOrderingHarness, type ReaderHandle } from '../helpers/ordering-harness.js';
import { appendMany, record, startStack, type Recorder, type Stack } from '../helpers/stream.js';

const progress = (marker: Record<string, unknown>, i: number) => {
  const job = `job-${Math.floor(Math.random() * 5)}`;
  return {
    streamType: 'job',
    streamId: job,
    type: 'step.progress',
    data: { jobId: job, pipeline: 'p', step: 'a', attempt: 1, percent: i % 100, ...marker },
  };
};

describe('stream replay and live switch (invariant 6)', () => {
  let db: TestDatabase;
  let stack: Stack;

  before(async () => {
    db = await createTestDatabase(60);
    // Small pages and a small hold buffer, so replay takes many pages and
    // the overflow path (reread instead of holding) runs too.
    stack = await startStack(db, {}, { pageSize: 97, maxPending: 40 });
  });
  after(async () => {
    await stack.close();
    await db.drop();
  });

  /** The deltas a subscriber from `from` must receive: every event after it, through the same mapping. */
  const expectedDeltas = async (from: number, match: (delta: Delta) => boolean = () => true): Promise<Delta[]> => {
    const deltas: Delta[] = [];
    for (let after = from; ; ) {
      const events = await read(db.pool, { after, limit: 5000 });
      if (events.length === 0) return deltas;
      deltas.push(...events.flatMap(eventToDeltas).filter(match));
      after = events[events.length - 1]!.position;
    }
  };
  const headNow = async () => Number((await db.pool.query('select coalesce(max(position), 0) as h from ledger.events')).rows[0].h);

  it('clients from random offsets receive every delta after their start exactly once, in order, across the switch to live', async () => {
    await appendMany(db.pool, 3000);
    const recorders: Recorder[] = [];
    const startReader = async (from: number): Promise<ReaderHandle> => {
      const client = record(`${stack.url}?from=${from}`);
      recorders.push(client);
      return {
        start: from,
        get received() {
          return client.offsets;
        },
        stop: () => client.close(),
      };
    };
    const result = await runOrderingHarness({
      pool: db.pool,
      writers: 16,
      transactionsPerWriter: 15,
      existing: 3000,
      appendInTx: async (client, count, marker) =>
        (await append(client, Array.from({ length: count }, (_, i) => progress(marker, i)))).map((r) => r.position),
      startReader,
    });
    assert.ok(result.committed.length > 100);
    const head = await headNow();
    for (const reader of result.readers) {
      const expected = (await expectedDeltas(reader.start)).map((delta) => delta.offset);
      assert.ok(expected.length > 0, `deltas expected after ${reader.start}`);
      await eventually(() => reader.received.length >= expected.length, 30_000, `reader from ${reader.start} to catch up`);
      assert.deepEqual(reader.received, expected, `reader from ${reader.start}`);
    }
    for (const client of recorders) {
      await eventually(() => client.reached === head, 10_000, 'the offset to reach the head');
      assert.ok(client.frames.some((frame) => frame.type === 'caught_up'));
      assert.equal(client.closed, undefined);
      await client.close();
    }
  });

  it('a filtered subscriber gets only matching deltas, and its offset still reaches the head', async () => {
    const from = await headNow();
    const client = record(`${stack.url}?from=${Math.max(0, from - 500)}&job=job-3&types=step.*`);
    await appendMany(db.pool, 400);
    const head = await headNow();
    const expected = (await expectedDeltas(Math.max(0, from - 500), (d) => d.jobId === 'job-3' && d.type.startsWith('step.'))).map(
      (d) => d.offset,
    );
    assert.ok(expected.length > 0);
    await eventually(() => client.reached === head, 10_000, 'position frames to report the head');
    assert.deepEqual(client.offsets, expected);
    await client.close();
  });

  it('the typed client dropped in the middle of heavy traffic resumes exactly, and its model matches', async () => {
    const from = Math.floor(Math.random() * (await headNow()));
    const sockets: WebSocket[] = [];
    // ws, recording each socket so the test can cut it.
    const Recording = function (url: string) {
      const socket = new WebSocket(url);
      sockets.push(socket);
      return socket as unknown as WebSocketLike;
    } as unknown as WebSocketConstructor;
    const applied: number[] = [];
    const client = createStreamClient({
      url: stack.url,
      from,
      WebSocket: Recording,
      backoff: { initialMs: 20, maxMs: 200 },
      onChange: (_model, deltas) => applied.push(...deltas.map((delta) => delta.offset)),
    });
    const writing = (async () => {
      for (let i = 0; i < 30; i += 1) {
        await appendMany(db.pool, 100);
        await sleep(5);
      }
    })();
    for (let cut = 1; cut <= 3; cut += 1) {
      await eventually(() => sockets.length === cut && sockets[cut - 1]!.readyState === WebSocket.OPEN && applied.length > 0, 10_000, 'a connection');
      await sleep(30 * cut);
      sockets[cut - 1]!.terminate();
    }
    await writing;
    const head = await headNow();
    await eventually(() => client.offset === head, 30_000, 'the client to resume up to the head');
    const expected = await expectedDeltas(from);
    assert.deepEqual(applied, expected.map((delta) => delta.offset));
    assert.deepEqual(client.model, applyDeltas(emptyModel(), expected));
    assert.ok(client.connections >= 4, `reconnected (${client.connections} connections)`);
    client.close();
    await eventually(() => sockets.every((socket) => socket.readyState === WebSocket.CLOSED), 10_000, 'sockets to close');
  });
});
