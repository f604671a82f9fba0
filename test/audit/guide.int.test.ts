import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ensureProjectionVersion } from '../../src/projections/rebuild.js';
import { takeDueSnapshots } from '../../src/projections/model-snapshots.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { demoSource } from '../projections/helpers.js';
import { runledger } from './cli.js';

/** The ```sql blocks of the auditors' guide, in order. */
function guideBlocks(): string[] {
  const text = fs.readFileSync(new URL('../../../docs/auditing.md', import.meta.url), 'utf8');
  return [...text.matchAll(/```sql\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

/** psql variable interpolation: :'name' is a literal, :"name" an identifier. */
function interpolate(sql: string, variables: Record<string, string>): string {
  return sql
    .replace(/:'(\w+)'/g, (_, name: string) => `'${variables[name]!.replaceAll("'", "''")}'`)
    .replace(/:"(\w+)"/g, (_, name: string) => `"${variables[name]!.replaceAll('"', '""')}"`);
}

describe('the auditors\' guide (docs/auditing.md) and the runledger_auditor role', () => {
  let db: TestDatabase;
  let auditor: pg.Client;
  let auditorUrl: string;
  const variables: Record<string, string> = {
    auditor: `auditor_${randomBytes(4).toString('hex')}`,
    password: `pw-${randomBytes(8).toString('hex')}`,
    from: '2000-01-01T00:00:00Z',
    to: '2100-01-01T00:00:00Z',
  };
  before(async () => {
    db = await createTestDatabase(4);
    await ensureProjectionVersion(db.pool);
    await demoSource({ seed: 23 })(db.pool, 2500, 50);
    await takeDueSnapshots(db.pool, { every: 1000, keep: 0 });
    // The projector is not running here: bring the read model up to date once, as a rebuild does.
    const { rebuild } = await import('../../src/projections/rebuild.js');
    await rebuild(db.pool, {});
    const { rows } = await db.pool.query<{ stream_id: string }>(
      `select stream_id from ledger.events where type = 'job.created' order by position desc limit 1`,
    );
    variables.job_id = rows[0]!.stream_id;
    await db.pool.query('select ledger.append($1::jsonb)', [JSON.stringify([{
      stream_type: 'job', stream_id: variables.job_id, type: 'job.cancelled',
      data: { jobId: variables.job_id, pipeline: 'video-clip', reason: 'audit test' }, metadata: { actor: 'user:carol' },
    }])]);
    const blocks = guideBlocks();
    const admin = blocks.filter((block) => block.startsWith('-- as an administrator'));
    assert.equal(admin.length, 1);
    await db.pool.query(interpolate(admin[0]!, variables));
    const url = new URL(db.url);
    url.username = variables.auditor!;
    url.password = variables.password!;
    auditorUrl = url.toString();
    auditor = new pg.Client({ connectionString: auditorUrl });
    await auditor.connect();
  });
  after(async () => {
    await auditor?.end();
    await db.drop();
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`drop role if exists "${variables.auditor}"`);
    await admin.end();
  });

  it('every SQL example of the guide runs as an auditor and answers', async () => {
    const blocks = guideBlocks().filter((block) => !block.startsWith('-- as an administrator'));
    assert.ok(blocks.length >= 6);
    const results: pg.QueryResult[][] = [];
    for (const block of blocks) {
      const result = await auditor.query(interpolate(block, variables));
      results.push(Array.isArray(result) ? result : [result]);
    }
    const [jobEvents, failures, retriesCancels, chain, heads, model] = results;
    assert.ok(jobEvents![0]!.rows.length > 1, 'the job has events');
    assert.ok(jobEvents![0]!.rows.every((row, index, all) => index === 0 || Number(row.position) > Number(all[index - 1].position)));
    assert.ok(failures![0]!.rows.length > 0, 'the demo fails some steps');
    assert.ok(failures![0]!.rows.every((row) => typeof row.error === 'string'));
    assert.ok(retriesCancels![0]!.rows.some((row) => row.actor === 'user:carol' && row.reason_or_steps === 'audit test'));
    assert.deepEqual(chain![0]!.rows, [], 'an intact chain has no problem');
    assert.equal(heads![0]!.rows.length, 1);
    assert.equal(model![1]!.rows.length, 2, 'two model snapshots');
  });

  it('the pure-SQL chain check names the first altered event', async () => {
    const chain = guideBlocks().find((block) => block.includes('previous_hash'))!;
    await db.pool.query(`do $$ begin
      set local session_replication_role = replica;
      update ledger.bodies b set data = b.data || '{"x": 1}'
        from ledger.blocks k where b.block_id = k.block_id and k.first_position + b.ordinal - 1 = 1234;
    end $$`);
    const { rows } = await auditor.query(chain);
    assert.deepEqual(rows, [{ position: '1234', problem: 'content does not match its hash' }]);
  });

  it('the auditor can read what the guide says and write nothing, nor call ledger.append', async () => {
    for (const table of ['ledger.events', 'ledger.bodies', 'ledger.blocks', 'ledger.checkpoints', 'runledger.model_snapshots', 'projection.jobs', 'projection.steps', 'projection.checkpoint']) {
      await auditor.query(`select * from ${table} limit 1`);
    }
    const refused = [
      `insert into ledger.events (position, stream_type, stream_id, stream_version, type, data, recorded_at, prev_hash, hash) values (999999, 'x', 'y', 1, 'x.y', '{}', now(), '\\x00', '\\x00')`,
      `update ledger.events set type = 'x.y' where position = 1`,
      `delete from ledger.events where position = 1`,
      `insert into ledger.bodies (block_id, ordinal, stream_type, stream_id, stream_version, type, data, digest) values (-1, 1, 'x', 'y', 1, 'x.y', '{}', '\\x00')`,
      `insert into ledger.blocks values (999999, 999999, -1, now(), '\\x00', '\\x00', '\\x00', 2)`,
      `update ledger.blocks set hash = prev_hash`,
      `update ledger.bodies set data = '{}'`,
      `select ledger.append_at_commit('[{"stream_type": "job", "stream_id": "x", "type": "job.created", "data": {}}]')`,
      `select ledger.append('[{"stream_type": "job", "stream_id": "x", "type": "job.created", "data": {}}]')`,
      `insert into ledger.checkpoints values (1, '\\x00', now(), '\\x00', '\\x00')`,
      `delete from ledger.checkpoints`,
      `insert into runledger.model_snapshots (position, version, model) values (1, 1, '\\x00')`,
      `delete from projection.jobs`,
      `update projection.jobs set status = 'x'`,
      `create table ledger.mine (x int)`,
    ];
    for (const statement of refused) {
      await assert.rejects(auditor.query(statement), /permission denied/, statement);
    }
  });

  it('runledger verify and export run as the auditor: nothing to migrate, nothing written', async () => {
    const verified = await runledger(auditorUrl, ['verify', '--from', '2000']);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /^ok \d+ [0-9a-f]{64}/);
    const exported = await runledger(auditorUrl, ['export', '--from', '2400']);
    assert.equal(exported.code, 0, exported.stderr);
  });
});
