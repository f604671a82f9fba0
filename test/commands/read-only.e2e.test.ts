import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { append } from '../../src/ledger/append.js';
import { CLI, runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// Read-only commands run DDL never: an auditor's login role (granted
// runledger_auditor, which may read the ledger and nothing else) can run them.
describe('read-only commands (verify, tail) as an auditor', () => {
  let db: TestDatabase;
  let auditorUrl: string;
  const role = `auditor_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(8).toString('hex');

  before(async () => {
    db = await createTestDatabase(2);
    await append(db.pool, [1, 2, 3].map((n) => ({ streamType: 'test', streamId: 'a', type: 'test.happened', data: { n } })));
    await db.pool.query(`create role ${role} login password '${password}'`);
    await db.pool.query(`grant runledger_auditor to ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    auditorUrl = url.toString();
  });
  after(async () => {
    await db.drop();
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`drop role if exists ${role}`).finally(() => admin.end());
  });

  it('the role really is read-only: it may not create a schema', async () => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: auditorUrl });
    await client.connect();
    try {
      await assert.rejects(client.query('create schema if not exists runledger'), /permission denied/);
    } finally {
      await client.end();
    }
  });

  it('verify exits 0 and prints ok with the count and head hash', async () => {
    const result = await runCli(['verify'], { DATABASE_URL: auditorUrl, LOG_LEVEL: 'warn' });
    assert.equal(result.stderr, '');
    assert.match(result.stdout, /^ok 3 [0-9a-f]{64}\n$/);
    assert.equal(result.code, 0);
  });

  it('tail prints the events as NDJSON', async () => {
    const child = spawn(process.execPath, [CLI, 'tail', '--from', '0'], {
      env: { ...process.env, DATABASE_URL: auditorUrl, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.split('\n').length > 3) resolve();
      });
      child.once('exit', () => reject(new Error(`tail exited early: ${stderr}`)));
    });
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    const events = stdout.trim().split('\n').map((line) => JSON.parse(line) as { position: number; data: { n: number } });
    assert.deepEqual(events.map((event) => [event.position, event.data.n]), [[1, 1], [2, 2], [3, 3]]);
  });

  it('on a database that is behind, says what to do in one line and changes nothing', async () => {
    const fresh = await createTestDatabase(1, { migrated: false });
    try {
      const result = await runCli(['verify'], { DATABASE_URL: fresh.url, LOG_LEVEL: 'warn' });
      assert.notEqual(result.code, 0);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^runledger verify: the database schema is older than migration 8, this runledger needs migration \d+: run `runledger migrate`.*\n$/);
      const { rows } = await fresh.pool.query(`select 1 from pg_namespace where nspname in ('runledger', 'ledger')`);
      assert.equal(rows.length, 0, 'no schema was created');
    } finally {
      await fresh.drop();
    }
  });

  it('migrate as the auditor fails with one line saying what to do; --verbose adds the stack', async () => {
    const plain = await runCli(['migrate'], { DATABASE_URL: auditorUrl, LOG_LEVEL: 'warn' });
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /^runledger migrate: .*permission denied.*\(the role in DATABASE_URL lacks a privilege: use the database owner's role.*\)\n$/);
    const verbose = await runCli(['migrate', '--verbose'], { DATABASE_URL: auditorUrl, LOG_LEVEL: 'warn' });
    assert.equal(verbose.code, 1);
    assert.match(verbose.stderr, /^runledger migrate: .*permission denied.*\n[\s\S]*\n\s+at /);
  });
});
