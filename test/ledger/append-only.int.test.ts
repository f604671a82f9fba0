import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { append } from '../../src/ledger/append.js';
import { verify } from '../../src/ledger/verify.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

describe('append-only ledger and hash chain (invariant 2)', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
    await append(
      db.pool,
      Array.from({ length: 20 }, (_, i) => ({ streamType: 'job', streamId: `j${i % 3}`, type: 'job.progress', data: { i } })),
    );
  });
  after(() => db.drop());

  it('refuses UPDATE, DELETE and TRUNCATE in the database itself', async () => {
    await assert.rejects(db.pool.query(`update ledger.events set data = '{}' where position = 3`), /append-only: UPDATE/);
    await assert.rejects(db.pool.query('delete from ledger.events where position = 3'), /append-only: DELETE/);
    await assert.rejects(db.pool.query('insert into ledger.events select * from ledger.events limit 1'), /append-only: INSERT/);
    // ledger.events is a view over these two tables (sql/000004_seal_at_commit.sql).
    for (const table of ['ledger.bodies', 'ledger.blocks']) {
      await assert.rejects(db.pool.query(`update ${table} set block_id = block_id`), /append-only: UPDATE/);
      await assert.rejects(db.pool.query(`delete from ${table}`), /append-only: DELETE/);
      await assert.rejects(db.pool.query(`truncate ${table}`), /append-only: TRUNCATE/);
    }
    assert.deepEqual(await verify(db.pool), {
      ok: true,
      count: 20,
      headHash: (await db.pool.query(`select encode(hash, 'hex') as h from ledger.events where position = 20`)).rows[0].h,
    });
  });

  it('lets the auditor role read and verify the ledger, and nothing else', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query('set local role runledger_auditor');
      const { rows } = await client.query('select count(*)::int as n from ledger.events');
      assert.equal(rows[0].n, 20);
      assert.equal((await verify(client)).ok, true);
      await client.query('savepoint s');
      await assert.rejects(
        client.query(`insert into ledger.events select * from ledger.events limit 1`),
        /permission denied/,
      );
      await client.query('rollback to savepoint s');
      await assert.rejects(client.query(`select ledger.append('[]')`), /permission denied/);
      await client.query('rollback');
    } finally {
      client.release();
    }
  });

  it('reports an event altered behind the triggers\' back at its position', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query(`set local session_replication_role = replica`);
      await client.query(`update ledger.bodies set data = '{"i": 999}' where ordinal = 7`);
      await client.query('commit');
    } finally {
      client.release();
    }
    const result = await verify(db.pool);
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.position === 7 && /altered/.test(result.reason));
    // The CLI says the same and exits 1.
    const cli = await promisify(execFile)(process.execPath, ['dist/src/cli.js', 'verify'], {
      env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'warn' },
    }).then(
      () => assert.fail('verify exited 0 on a tampered ledger'),
      (error: { code: number; stdout: string }) => error,
    );
    assert.equal(cli.code, 1);
    assert.match(cli.stdout, /^bad 7 content does not match its hash/);
  });

  it('reports a removed event', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query(`set local session_replication_role = replica`);
      await client.query(`update ledger.bodies set data = '{"i": 6}' where ordinal = 7`);
      await client.query('delete from ledger.bodies where ordinal = 12');
      await client.query('commit');
    } finally {
      client.release();
    }
    const result = await verify(db.pool);
    assert.ok(!result.ok && result.position === 12 && /missing/.test(result.reason), JSON.stringify(result));
  });
});
