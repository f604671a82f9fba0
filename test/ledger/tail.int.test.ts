import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { append } from '../../src/ledger/append.js';
import { Doorbell } from '../../src/ledger/doorbell.js';
import { tail } from '../../src/ledger/tail.js';
import type { LedgerEvent, NewEvent } from '../../src/ledger/types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';

const event = (i: number): NewEvent => ({ streamType: 'job', streamId: `tail-${i % 7}`, type: 'job.progress', data: { i } });

describe('tail with an interval between reads', () => {
  let db: TestDatabase;
  let doorbell: Doorbell;
  before(async () => {
    db = await createTestDatabase();
    doorbell = new Doorbell(db.url);
    await doorbell.start();
  });
  after(async () => {
    await doorbell.stop();
    await db.drop();
  });

  it('catches up in full batches without waiting, then takes a busy ledger\'s events together, each once and in order', async () => {
    await append(db.pool, Array.from({ length: 2500 }, (_, i) => event(i)));
    const batches: LedgerEvent[][] = [];
    // A minute between reads: a catch-up that waited would not finish within the test's limit.
    const follower = tail({ db: db.pool, doorbell, from: 0, intervalMs: 60_000, onEvents: (events) => void batches.push(events) });
    try {
      await eventually(() => batches.flat().length === 2500, 20_000, 'catch-up');
      assert.deepEqual(batches.map((b) => b.length), [1000, 1000, 500]);
    } finally {
      await follower.stop();
    }

    // Live: the read after a ring waits out the interval (5 s after the
    // catch-up read), so the appends made meanwhile arrive in one batch;
    // without it the first ring's read would take the first event alone.
    const live: LedgerEvent[][] = [];
    const second = tail({ db: db.pool, doorbell, from: 2500, intervalMs: 5000, onEvents: (events) => void live.push(events) });
    try {
      await second.caughtUp();
      for (let i = 0; i < 5; i += 1) await append(db.pool, [event(2500 + i)]);
      await eventually(() => live.flat().length === 5, 20_000, 'live events');
      assert.deepEqual(live.flat().map((e) => e.position), [2501, 2502, 2503, 2504, 2505]);
      assert.deepEqual(live.map((b) => b.length), [5]);
    } finally {
      await second.stop();
    }
  });
  it('resolves caughtUp while the doorbell keeps ringing, though the read loop then never ends', async () => {
    // The poll rings four times in every interval, so the loop always has another round to go.
    const follower = tail({ db: db.pool, doorbell, from: 0, intervalMs: 200, pollMs: 50, onEvents: () => {} });
    try {
      const limit = new Promise((_, reject) => setTimeout(() => reject(new Error('caughtUp did not resolve within 15 s')), 15_000).unref());
      await Promise.race([follower.caughtUp(), limit]);
      assert.equal(follower.position, 2505);
    } finally {
      await follower.stop();
    }
  });
});
