import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { append } from '../../src/ledger/append.js';
import { read } from '../../src/ledger/read.js';
import { verify } from '../../src/ledger/verify.js';
import { loadMigrations, migrate } from '../../src/ops/migrate.js';
import { createPool } from '../../src/ops/pool.js';

// A ledger written by the migrations before blocks (000001-000003, per-event
// hash chain) is migrated forward by 000004 and stays verifiable.
describe('migrating a ledger written before blocks', () => {
  const name = `runledger_m_${randomBytes(6).toString('hex')}`;
  let pool: pg.Pool;
  let oldHead: string;
  before(async () => {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `/${name}`;
    pool = createPool(url.toString(), 4, 'runledger-test');
    await pool.query('create schema runledger; create table runledger.migrations (id int primary key, name text not null, applied_at timestamptz not null default now())');
    for (const migration of (await loadMigrations()).filter((m) => m.id < 4)) {
      await pool.query(`begin; ${migration.sql}; insert into runledger.migrations (id, name) values (${migration.id}, '${migration.name}'); commit`);
    }
    // The old ledger.append, as deployed: batches across streams, and single events.
    await pool.query(
      `select ledger.append($1::jsonb)`,
      [JSON.stringify(Array.from({ length: 5 }, (_, i) => ({ stream_type: 'job', stream_id: `j${i % 2}`, type: 'job.progress', data: { i, text: 'é"\\n' } })))],
    );
    for (let i = 0; i < 3; i += 1) {
      await pool.query(`select ledger.append($1::jsonb)`, [JSON.stringify([{ stream_type: 'job', stream_id: 'j0', type: 'job.progress', data: { i }, metadata: { actor: 'old' } }])]);
    }
    oldHead = (await pool.query(`select encode(hash, 'hex') as h from ledger.events order by position desc limit 1`)).rows[0].h;
    await migrate(pool);
  });
  after(async () => {
    await pool.end();
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  it('keeps the old events, positions, versions and head hash, and chains new blocks from them', async () => {
    assert.deepEqual(await verify(pool), { ok: true, count: 8, headHash: oldHead });
    const events = await read(pool);
    assert.deepEqual(events.map((e) => [e.position, e.streamId, e.streamVersion]), [
      [1, 'j0', 1], [2, 'j1', 1], [3, 'j0', 2], [4, 'j1', 2], [5, 'j0', 3], [6, 'j0', 4], [7, 'j0', 5], [8, 'j0', 6],
    ]);
    // Stream versions continue from the migrated events.
    const results = await append(pool, [
      { streamType: 'job', streamId: 'j0', type: 'job.progress', data: { i: 9 } },
      { streamType: 'job', streamId: 'j1', type: 'job.progress', data: { i: 10 } },
    ]);
    assert.deepEqual(results, [{ position: 9, streamVersion: 7 }, { position: 10, streamVersion: 3 }]);
    const { rows } = await pool.query(`select encode(prev_hash, 'hex') as p from ledger.events where position = 9`);
    assert.equal(rows[0].p, oldHead);
    const result = await verify(pool);
    assert.ok(result.ok && result.count === 10, JSON.stringify(result));
  });

  it('still names an altered old event', async () => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query('set local session_replication_role = replica');
      await client.query(`update ledger.bodies set data = '{"i": 99}' where block_id = -4`);
      await client.query('commit');
    } finally {
      client.release();
    }
    const result = await verify(pool);
    assert.ok(!result.ok && result.position === 4 && /altered/.test(result.reason), JSON.stringify(result));
  });
});
