import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { append } from '../../src/ledger/append.js';
import { Doorbell } from '../../src/ledger/doorbell.js';
import { tail } from '../../src/ledger/tail.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually, runOrderingHarness, type ReaderHandle } from '../helpers/ordering-harness.js';

const event = (marker: Record<string, unknown>, i: number) => ({
  streamType: 'test',
  streamId: `s-${Math.floor(Math.random() * 50)}`,
  type: 'test.appended',
  data: { ...marker, i },
});

describe('ledger ordering (invariant 1)', () => {
  let db: TestDatabase;
  let doorbell: Doorbell;

  before(async () => {
    db = await createTestDatabase(60);
    doorbell = new Doorbell(db.url);
    await doorbell.start();
  });
  after(async () => {
    await doorbell.stop();
    await db.drop();
  });

  const startTailReader = async (from: number): Promise<ReaderHandle> => {
    const received: number[] = [];
    const follower = tail({
      db: db.pool,
      doorbell,
      from,
      pollMs: 500,
      batchSize: 37,
      onEvents: (events) => {
        for (const e of events) {
          assert.equal(e.data.rolledBack, false, `event ${e.position} from a rolled-back transaction was delivered`);
          received.push(e.position);
        }
      },
    });
    return { start: from, received, stop: () => follower.stop() };
  };

  it('delivers every committed position once, in order, to every reader, under concurrent writers', async () => {
    await append(db.pool, Array.from({ length: 50 }, (_, i) => event({ rolledBack: false, seed: true }, i)));
    const result = await runOrderingHarness({
      pool: db.pool,
      writers: 32,
      transactionsPerWriter: 12,
      existing: 50,
      appendInTx: async (client, count, marker) =>
        (await append(client, Array.from({ length: count }, (_, i) => event(marker, i)))).map((r) => r.position),
      startReader: startTailReader,
      midway: async () => {
        const { rowCount } = await db.pool.query(
          `select pg_terminate_backend(pid) from pg_stat_activity
            where application_name = 'runledger-doorbell' and datname = current_database()`,
        );
        assert.equal(rowCount, 1, 'the LISTEN connection was found and killed');
      },
    });

    const { rows } = await db.pool.query<{ max: string; count: string }>(
      'select max(position) as max, count(*) as count from ledger.events',
    );
    const finalPosition = Number(rows[0]!.max);
    assert.equal(finalPosition, Number(rows[0]!.count), 'positions are dense: max(position) = count(*)');
    assert.ok(result.rolledBack > 0, 'some transactions rolled back');
    assert.deepEqual(
      result.committed,
      Array.from({ length: finalPosition - 50 }, (_, i) => 51 + i),
      'the committed positions are exactly 51..max',
    );

    for (const reader of result.readers) {
      await eventually(() => reader.received.length >= finalPosition - reader.start, 30_000, 'reader to catch up');
      await sleep(200);
      await reader.stop();
      const expected = Array.from({ length: finalPosition - reader.start }, (_, i) => reader.start + 1 + i);
      assert.deepEqual(reader.received, expected, `reader from ${reader.start} saw each position once, in order`);
    }
  });

  it('orders a transaction that appended first but commits late before a later one', async () => {
    const start = Number((await db.pool.query('select max(position) as m from ledger.events')).rows[0].m);
    const reader = await startTailReader(start);
    const t1 = await db.pool.connect();
    const t2 = await db.pool.connect();
    try {
      await t1.query('begin');
      const [first] = await append(t1, [event({ rolledBack: false, tx: 1 }, 0)]);
      await t2.query('begin');
      // T2's append waits for T1: positions are handed out in commit order.
      const t2Done = append(t2, [event({ rolledBack: false, tx: 2 }, 0)]).then(async (r) => {
        await t2.query('commit');
        return r[0]!;
      });
      await sleep(300);
      assert.deepEqual(reader.received, [], 'nothing is visible while T1 is open');
      await t1.query('commit');
      const second = await t2Done;
      assert.ok(first!.position < second.position);
      await eventually(() => reader.received.length === 2, 10_000, 'both events');
      await sleep(200);
      assert.deepEqual(reader.received, [first!.position, second.position]);
    } finally {
      t1.release();
      t2.release();
      await reader.stop();
    }
  });
});
