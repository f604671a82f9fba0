import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { append, appendAndCommit } from '../../src/ledger/append.js';
import { read } from '../../src/ledger/read.js';
import { verify } from '../../src/ledger/verify.js';
import type { NewEvent } from '../../src/ledger/types.js';
import { AppError } from '../../src/ops/errors.js';
import { LEDGER_APPEND_LOCK } from '../../src/ops/locks.js';
import { createPool } from '../../src/ops/pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const count = async (db: TestDatabase) =>
  Number((await db.pool.query('select count(*) as n from ledger.events')).rows[0].n);

const refusedWith = (status: number, code: string, field: RegExp) => (error: unknown) => {
  assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
  assert.equal(error.status, status);
  assert.equal(error.code, code);
  assert.match(error.field ?? '', field);
  return true;
};

describe('append and read', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  it('appends a batch with dense positions, per-stream versions and metadata', async () => {
    const results = await append(db.pool, [
      { streamType: 'job', streamId: 'a', type: 'job.created', data: { n: 1 }, metadata: { actor: 'test' } },
      { streamType: 'job', streamId: 'b', type: 'job.created', data: { n: 2 } },
      { streamType: 'job', streamId: 'a', type: 'job.started', data: { n: 3 } },
    ]);
    assert.deepEqual(results, [
      { position: 1, streamVersion: 1 },
      { position: 2, streamVersion: 1 },
      { position: 3, streamVersion: 2 },
    ]);
    const events = await read(db.pool, { after: 0 });
    assert.deepEqual(
      events.map((e) => [e.position, e.streamId, e.streamVersion, e.type, e.data.n, e.metadata.actor]),
      [
        [1, 'a', 1, 'job.created', 1, 'test'],
        [2, 'b', 1, 'job.created', 2, undefined],
        [3, 'a', 2, 'job.started', 3, undefined],
      ],
    );
    assert.deepEqual((await read(db.pool, { after: 1, types: ['job.started'] })).map((e) => e.position), [3]);
    assert.deepEqual((await read(db.pool, { streamType: 'job', streamId: 'b' })).map((e) => e.position), [2]);
    // One append is one block: its events share the block's hash, and the
    // next block chains to it.
    await append(db.pool, [{ streamType: 'job', streamId: 'c', type: 'job.created', data: {} }]);
    const { rows } = await db.pool.query('select position, block_first, block_last, prev_hash, hash from ledger.events order by position');
    assert.deepEqual(rows.map((r) => [Number(r.block_first), Number(r.block_last)]), [[1, 3], [1, 3], [1, 3], [4, 4]]);
    assert.ok(rows[3].prev_hash.equals(rows[0].hash), 'each block chains to the previous hash');
    assert.equal((await verify(db.pool)).ok, true);
  });

  it('refuses an append whose expected version does not match, naming both versions, and writes nothing', async () => {
    const before = await count(db);
    await assert.rejects(
      append(db.pool, [{ streamType: 'job', streamId: 'a', type: 'job.completed', data: {} }], { expectedVersion: 1 }),
      (error: unknown) => {
        refusedWith(409, 'version_conflict', /expectedVersion/)(error);
        assert.match((error as Error).message, /expected version 1, current version 2/);
        return true;
      },
    );
    assert.equal(await count(db), before);
    const [ok] = await append(db.pool, [{ streamType: 'job', streamId: 'a', type: 'job.completed', data: {} }], {
      expectedVersion: 2,
    });
    assert.equal(ok!.streamVersion, 3);
  });

  it('refuses oversize events, missing types and non-object data, writing nothing', async () => {
    const before = await count(db);
    const valid: NewEvent = { streamType: 'job', streamId: 'x', type: 'job.created', data: {} };
    await assert.rejects(
      append(db.pool, [valid, { ...valid, data: { blob: 'x'.repeat(2000) } }], { maxEventBytes: 1000 }),
      refusedWith(413, 'event_too_large', /^events\[1\]$/),
    );
    await assert.rejects(
      append(db.pool, [{ ...valid, type: undefined } as unknown as NewEvent]),
      refusedWith(400, 'invalid_event', /^events\[0\]\.type$/),
    );
    await assert.rejects(
      append(db.pool, [{ ...valid, type: 'NoDots' }]),
      refusedWith(400, 'invalid_event', /^events\[0\]\.type$/),
    );
    await assert.rejects(
      append(db.pool, [{ ...valid, data: 'not json' as unknown as Record<string, unknown> }]),
      refusedWith(400, 'invalid_event', /^events\[0\]\.data$/),
    );
    await assert.rejects(
      append(db.pool, [{ ...valid, data: { big: 10n } as unknown as Record<string, unknown> }]),
      refusedWith(400, 'invalid_event', /^events\[0\]\.data$/),
    );
    await assert.rejects(append(db.pool, []), refusedWith(400, 'invalid_event', /^events$/));
    // The database refuses what slips past the TypeScript checks, too.
    await assert.rejects(
      db.pool.query(`select ledger.append('[{"stream_type":"job","stream_id":"x","type":"job.created","data":[1]}]')`),
      /bodies_data_check/,
    );
    assert.equal(await count(db), before);
  });

  it('appends inside the caller\'s transaction and rolls back with it', async () => {
    const before = await count(db);
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await append(client, [{ streamType: 'job', streamId: 'tx', type: 'job.created', data: {} }]);
      await client.query('rollback');
    } finally {
      client.release();
    }
    assert.equal(await count(db), before);
    const [next] = await append(db.pool, [{ streamType: 'job', streamId: 'tx', type: 'job.created', data: {} }]);
    assert.equal(next!.position, before + 1, 'a rolled-back append leaves no gap');
  });

  it('appends and commits in one round trip, or leaves the transaction aborted', async () => {
    const before = await count(db);
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query(`create temporary table side_effect (n int)`);
      await client.query('insert into side_effect values (1)');
      const [result] = await appendAndCommit(client, [
        { streamType: 'job', streamId: "o'quote", type: 'job.created', data: { text: "it's \\ fine" } },
      ]);
      assert.equal(result!.position, before + 1);
      const { rows } = await client.query('select count(*)::int as n from side_effect');
      assert.equal(rows[0].n, 1, 'the side effect committed with the event');
      assert.equal((await client.query('select txid_current_if_assigned() as x')).rows[0].x, null, 'no transaction is open');

      await client.query('begin');
      await assert.rejects(
        appendAndCommit(client, [{ streamType: 'job', streamId: "o'quote", type: 'job.started', data: {} }], {
          expectedVersion: 7,
        }),
        refusedWith(409, 'version_conflict', /expectedVersion/),
      );
      await client.query('rollback');
    } finally {
      client.release();
    }
    const [event] = await read(db.pool, { after: before });
    assert.deepEqual(event!.data, { text: "it's \\ fine" });
    assert.equal(await count(db), before + 1);
  });

  it('learns its positions after COMMIT by the block id, without scanning the block table', async () => {
    // A regression: `where block_id = currval(...)` evaluated the volatile
    // currval per row, so every append scanned all of ledger.blocks.
    const writer = await db.pool.connect();
    const scans = async () => {
      await writer.query('select pg_stat_force_next_flush()');
      const { rows } = await db.pool.query(
        "select pg_stat_clear_snapshot(), (select seq_scan from pg_stat_user_tables where relid = 'ledger.blocks'::regclass) as n",
      );
      return Number(rows[0].n);
    };
    try {
      for (let i = 0; i < 20; i += 1) {
        await writer.query('begin');
        await appendAndCommit(writer, [{ streamType: 'job', streamId: `scan-${i}`, type: 'job.created', data: { i } }]);
      }
      const before = await scans();
      const { rows } = await writer.query('select ledger.sealed_first_position() as first');
      assert.equal(Number(rows[0].first), (await read(db.pool, { after: 0, limit: 100_000 })).at(-1)!.position);
      assert.equal(await scans(), before, 'the position read must use the block id index');
    } finally {
      writer.release();
    }
  });

  it('inlines the digest into the statements that compute it (no function call per event)', async () => {
    // A regression: declared immutable over the stable convert_to(), the
    // digest functions ran as one SQL-function call per event.
    const { rows } = await db.pool.query(
      "explain (verbose, costs off) select ledger.event_digest(s, 'i', 1, 't', '{}', '{}') from unnest(array['a', 'b']) s",
    );
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    assert.match(plan, /sha256\(/);
    assert.doesNotMatch(plan, /event_digest/);
  });

  it('refuses, in the database itself, the stream types the TypeScript check refuses (sql/000011)', async () => {
    const sqlAppend = (streamType: string) =>
      db.pool.query('select ledger.append_at_commit($1::jsonb)', [
        JSON.stringify([{ stream_type: streamType, stream_id: 'x', type: 'job.created', data: {} }]),
      ]);
    const longest = `a${'b.-_9'.repeat(12)}bcd`;
    assert.equal(longest.length, 64);
    await sqlAppend(longest);
    for (const refused of [`${longest}e`, 'Job', '9job', '.job', 'job/x', 'jöb', '']) {
      await assert.rejects(sqlAppend(refused), (error: { code?: string; constraint?: string }) => {
        assert.equal(error.code, '23514', refused);
        assert.equal(error.constraint, 'bodies_stream_type_check', refused);
        return true;
      });
    }
  });

  it('refuses to append in a REPEATABLE READ or SERIALIZABLE transaction, naming the isolation level', async () => {
    const client = await db.pool.connect();
    try {
      for (const level of ['repeatable read', 'serializable']) {
        await client.query(`begin isolation level ${level}`);
        await assert.rejects(
          client.query(`select ledger.append('[{"stream_type":"job","stream_id":"iso","type":"job.created","data":{}}]')`),
          (error: { code?: string; message?: string }) => error.code === '25001' && error.message!.includes(level),
        );
        await client.query('rollback');
      }
    } finally {
      client.release();
    }
  });

  it('commits an append synchronously even in a session with synchronous_commit off', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query('set local synchronous_commit = off');
      await client.query(`select ledger.append_at_commit('[{"stream_type":"job","stream_id":"sync","type":"job.created","data":{}}]')`);
      await client.query('set constraints ledger.seal immediate');
      const { rows } = await client.query("select current_setting('synchronous_commit') as setting");
      assert.equal(rows[0].setting, 'on');
      await client.query('rollback');
      await client.query('begin');
      await client.query('set local synchronous_commit = remote_apply');
      await client.query(`select ledger.append_at_commit('[{"stream_type":"job","stream_id":"sync","type":"job.created","data":{}}]')`);
      await client.query('set constraints ledger.seal immediate');
      assert.equal((await client.query("select current_setting('synchronous_commit') as s")).rows[0].s, 'remote_apply');
      await client.query('rollback');
    } finally {
      client.release();
    }
  });

  it('carries quotes, backslashes and large payloads intact on every path', async () => {
    const tricky = { s: "it's a \\ back\\slash, a '' pair, \\' and é", nested: { "k'": ["\\n"] } };
    const big = { blob: 'y'.repeat(100 * 1024), ...tricky };
    const client = await db.pool.connect();
    try {
      const written: number[] = [];
      for (const data of [tricky, big]) {
        written.push((await append(db.pool, [{ streamType: 'job', streamId: 'q', type: 'job.noted', data }]))[0]!.position);
        await client.query('begin');
        written.push((await appendAndCommit(client, [{ streamType: 'job', streamId: 'q', type: 'job.noted', data }]))[0]!.position);
      }
      const events = await read(db.pool, { streamType: 'job', streamId: 'q' });
      assert.deepEqual(events.map((e) => e.position), written);
      assert.deepEqual(events.map((e) => e.data), [tricky, tricky, big, big]);
      assert.deepEqual(events.map((e) => e.streamVersion), [1, 2, 3, 4]);
    } finally {
      client.release();
    }
    assert.equal((await verify(db.pool)).ok, true);
  });

  it('keeps at most the pool\'s appendsAtOnce transactions open; the rest wait in the process, then commit', async () => {
    const pool = createPool(db.url, 8, 'runledger-test-gate', { appendsAtOnce: 2 });
    const holder = await db.pool.connect();
    try {
      // Hold the ordering lock so every append that reaches PostgreSQL waits at its COMMIT.
      await holder.query(`begin; select pg_advisory_xact_lock(${LEDGER_APPEND_LOCK})`);
      const appends = Array.from({ length: 6 }, (_, i) =>
        append(pool, [{ streamType: 'job', streamId: `gate-${i}`, type: 'job.noted', data: { i } }]),
      );
      const waiting = async () =>
        Number(
          (
            await db.pool.query(
              `select count(*) as n from pg_stat_activity where application_name = 'runledger-test-gate' and wait_event = 'advisory'`,
            )
          ).rows[0].n,
        );
      while ((await waiting()) < 2) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(pool.totalCount, 2, 'two connections: the other four appends wait in the process');
      await holder.query('commit');
      const positions = (await Promise.all(appends)).map(([result]) => result!.position);
      const sorted = [...positions].sort((a, b) => a - b);
      assert.deepEqual(sorted, sorted.map((_, i) => sorted[0]! + i), 'six positions, no gap');
      assert.equal(pool.totalCount, 2);
    } finally {
      await holder.query('rollback').catch(() => {});
      holder.release();
      await pool.end();
    }
  });
});
