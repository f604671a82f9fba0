import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { append } from '../../src/ledger/append.js';
import { Doorbell } from '../../src/ledger/doorbell.js';
import { tail } from '../../src/ledger/tail.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually, runOrderingHarness, type ReaderHandle, type TxAppender } from '../helpers/ordering-harness.js';
import { verify } from '../../src/ledger/verify.js';

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

  const appendSealedNow: TxAppender = async (client, count, marker) =>
    (await append(client, Array.from({ length: count }, (_, i) => event(marker, i)))).map((r) => r.position);
  // The path the runtime takes: written now, sealed by COMMIT; positions are
  // known only after it.
  const appendSealedAtCommit: TxAppender = async (client, count, marker) => {
    await client.query('select ledger.append_at_commit($1::jsonb)', [
      JSON.stringify(Array.from({ length: count }, (_, i) => {
        const e = event(marker, i);
        return { stream_type: e.streamType, stream_id: e.streamId, type: e.type, data: e.data };
      })),
    ]);
    return async () => {
      const { rows } = await client.query(
        "select first_position, last_position from ledger.blocks where block_id = currval('ledger.block_ids')",
      );
      const first = Number(rows[0].first_position);
      return Array.from({ length: Number(rows[0].last_position) - first + 1 }, (_, i) => first + i);
    };
  };

  for (const [name, appendInTx] of [
    ['sealed at the append (ledger.append)', appendSealedNow],
    ['sealed at COMMIT (ledger.append_at_commit)', appendSealedAtCommit],
  ] as const) {
  it(`delivers every committed position once, in order, to every reader, under concurrent writers: ${name}`, async () => {
    const existing = Number((await db.pool.query('select coalesce(max(last_position), 0) as m from ledger.blocks')).rows[0].m);
    await append(db.pool, Array.from({ length: 50 }, (_, i) => event({ rolledBack: false, seed: true }, i)));
    const result = await runOrderingHarness({
      pool: db.pool,
      writers: 32,
      transactionsPerWriter: 12,
      existing: existing + 50,
      appendInTx,
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
    assert.ok(result.savepointRollbacks > 0, 'some appends rolled back to a savepoint');
    assert.deepEqual(
      result.committed,
      Array.from({ length: finalPosition - existing - 50 }, (_, i) => existing + 51 + i),
      'the committed positions are exactly existing+51..max',
    );
    assert.equal((await verify(db.pool)).ok, true, 'the chain verifies');

    for (const reader of result.readers) {
      await eventually(() => reader.received.length >= finalPosition - reader.start, 30_000, 'reader to catch up');
      await sleep(200);
      await reader.stop();
      const expected = Array.from({ length: finalPosition - reader.start }, (_, i) => reader.start + 1 + i);
      assert.deepEqual(reader.received, expected, `reader from ${reader.start} saw each position once, in order`);
    }
  });
  }

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

  it('seals at COMMIT: a transaction that appended first but commits later gets the later positions, without waiting', async () => {
    const start = Number((await db.pool.query('select coalesce(max(last_position), 0) as m from ledger.blocks')).rows[0].m);
    const reader = await startTailReader(start);
    const t1 = await db.pool.connect();
    const t2 = await db.pool.connect();
    const payload = (tx: number) => JSON.stringify([{ stream_type: 'test', stream_id: `late-${tx}`, type: 'test.appended', data: { rolledBack: false, tx } }]);
    const sealed = async (client: typeof t1) =>
      Number((await client.query("select first_position from ledger.blocks where block_id = currval('ledger.block_ids')")).rows[0].first_position);
    try {
      await t1.query('begin');
      await t1.query('select ledger.append_at_commit($1::jsonb)', [payload(1)]);
      // T1 stays open holding only its stream's lock: T2 appends and commits
      // at once (no ordering lock is held before COMMIT).
      await t2.query('begin');
      await t2.query('select ledger.append_at_commit($1::jsonb)', [payload(2)]);
      await t2.query('commit');
      const second = await sealed(t2);
      assert.equal(second, start + 1);
      await eventually(() => reader.received.length === 1, 10_000, 'T2 event');
      await t1.query('commit');
      const first = await sealed(t1);
      assert.equal(first, start + 2);
      await eventually(() => reader.received.length === 2, 10_000, 'both events');
      await sleep(200);
      assert.deepEqual(reader.received, [start + 1, start + 2]);
      const { rows } = await db.pool.query(
        `select position, data->>'tx' as tx from ledger.events where block_last > $1 and position > $1 order by block_last, position`,
        [start],
      );
      assert.deepEqual(rows.map((r) => [Number(r.position), r.tx]), [[start + 1, '2'], [start + 2, '1']]);
    } finally {
      t1.release();
      t2.release();
      await reader.stop();
    }
  });

  it('makes a version conflict on a stream wait for, then fail against, an open transaction on it', async () => {
    const t1 = await db.pool.connect();
    try {
      await t1.query('begin');
      await append(t1, [{ streamType: 'test', streamId: 'occ', type: 'test.appended', data: { rolledBack: false } }], { expectedVersion: 0 });
      const racing = append(db.pool, [{ streamType: 'test', streamId: 'occ', type: 'test.appended', data: { rolledBack: false } }], {
        expectedVersion: 0,
      });
      // Handle the rejection from the start: on a slow machine it can arrive while COMMIT's reply is still on its way.
      let settledBeforeCommit = false;
      const refused = assert.rejects(racing, /expected version 0, current version 1/).finally(() => {
        settledBeforeCommit = !committed;
      });
      let committed = false;
      await sleep(200);
      assert.equal(settledBeforeCommit, false, 'the racing append waits while the stream is held');
      await t1.query('commit');
      committed = true;
      await refused;
    } finally {
      t1.release();
    }
  });
});
