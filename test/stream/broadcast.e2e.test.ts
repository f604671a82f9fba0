import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { appendMany, range, record, startStack, type Stack } from '../helpers/stream.js';

// Unfiltered live subscribers share one uWS publish per batch (server.ts);
// these pin what that must not change: who rides it, and that leaving it
// never drops a frame already published.
describe('the broadcast of unfiltered live deltas', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
  });

  it('carries caught-up unfiltered clients only (a filtered one is sent to alone), and each sees every delta once', async () => {
    const stack = await startStack(db);
    try {
      await appendMany(db.pool, 30);
      const plain = record(`${stack.url}?from=30`);
      const filtered = record(`${stack.url}?from=30&job=job-1`);
      const behind = record(`${stack.url}?from=0`);
      await eventually(() => [plain, filtered, behind].every((c) => c.frames.some((f) => f.type === 'caught_up')), 10_000, 'caught up');
      assert.equal(stack.server.broadcasting, 2, 'the unfiltered clients, once caught up');

      // One event per batch, so most reach the clients through the publish.
      for (let i = 0; i < 20; i += 1) await appendMany(db.pool, 1);
      await eventually(() => plain.reached === 50 && behind.reached === 50 && filtered.reached >= 48, 10_000, 'position 50');
      assert.deepEqual(plain.offsets, range(30, 50));
      assert.deepEqual(behind.offsets, range(0, 50));

      // Switching to a filter leaves the broadcast; dropping it joins again.
      plain.send({ type: 'subscribe', filter: { job: 'job-2' } });
      await eventually(() => stack.server.broadcasting === 1, 10_000, 'left');
      plain.send({ type: 'subscribe', filter: {} });
      await eventually(() => plain.frames.filter((f) => f.type === 'caught_up').length === 3 && stack.server.broadcasting === 2, 10_000, 'joined again');
      await appendMany(db.pool, 5);
      await eventually(() => plain.reached === 55, 10_000, 'position 55');
      assert.deepEqual(plain.offsets.filter((o) => o > 50), range(50, 55));
      await Promise.all([plain.close(), filtered.close(), behind.close()]);
      await eventually(() => stack.server.broadcasting === 0, 10_000, 'closed clients leave');
    } finally {
      await stack.close();
    }
  });

  it('a client closed right after a publish gets that frame before the close, whose resume offset includes it', async () => {
    const stack: Stack = await startStack(db);
    const start = Number((await db.pool.query('select coalesce(max(position), 0) as h from ledger.events')).rows[0].h);
    const client = record(`${stack.url}?from=${start}`);
    await eventually(() => client.frames.some((f) => f.type === 'caught_up'), 10_000, 'caught up');
    // Registered after the server's own, so it runs right after the publish
    // of the same batch, before uWS has drained it to the socket: shutting
    // down there makes the session leave the broadcast with the frame held.
    let closing: Promise<void> | undefined;
    stack.feed.afterListeners((batch) => {
      if (closing === undefined && batch.upTo >= start + 3) closing = stack.server.close();
    });
    try {
      for (let i = 0; i < 5; i += 1) await appendMany(db.pool, 1);
      await eventually(() => client.closed !== undefined, 10_000, 'the shutdown close');
      const from = Number(/from=(\d+)/.exec(client.closed!.reason)?.[1]);
      assert.ok(from >= start + 3, `resume offset ${client.closed!.reason}`);
      assert.deepEqual(client.offsets, range(start, from));
    } finally {
      await closing;
      await stack.feed.stop();
      await stack.doorbell.stop();
    }
  });

  it('a client whose snapshot is ahead of the feed is not sent the events it already has', async () => {
    // The snapshot commits three events and answers at their offset before
    // this process's feed has read them: the first live batch then ends
    // where the snapshot does, and the broadcast's whole frame would repeat it.
    const stack = await startStack(db, {}, {
      snapshot: async () => {
        const positions = await appendMany(db.pool, 3);
        return { offset: positions.at(-1)!, model: {} };
      },
    });
    try {
      const client = record(`${stack.url}?snapshot=1`);
      await eventually(() => client.frames.some((f) => f.type === 'caught_up'), 10_000, 'caught up');
      const snapshotAt = client.frames.find((f) => f.type === 'snapshot')!.offset as number;
      await eventually(() => stack.feed.position >= snapshotAt, 10_000, 'the feed reaching the snapshot');
      await appendMany(db.pool, 2);
      await eventually(() => client.reached === snapshotAt + 2, 10_000, 'two more');
      assert.deepEqual(client.offsets, range(snapshotAt, snapshotAt + 2));
      await client.close();
    } finally {
      await stack.close();
    }
  });
});
