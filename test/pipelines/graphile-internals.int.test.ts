import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { GRAPHILE_WORKER_CHECKED_VERSION, JOBS_INSERT_CHANNEL, wakeWorkers } from '../../src/pipelines/graphile-internals.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// src/pipelines/graphile-internals.ts is the only use of graphile-worker
// beyond its public API. These fail when an upgrade changes what it relies on.
describe('graphile-worker internals runledger relies on', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase(2);
  });
  after(() => db.drop());

  it('the installed graphile-worker is the version the internals were checked against', async () => {
    const require = createRequire(import.meta.url);
    const main = require.resolve('graphile-worker');
    let dir = path.dirname(main);
    while (!(await fs.stat(path.join(dir, 'package.json')).catch(() => undefined))) dir = path.dirname(dir);
    const { version } = JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as { version: string };
    assert.equal(version, GRAPHILE_WORKER_CHECKED_VERSION, 'graphile-worker changed: re-check src/pipelines/graphile-internals.ts, then update the version there');
  });

  it('graphile-worker announces added jobs on the channel, with the payload shape, that wakeWorkers sends', async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    try {
      const messages: { channel: string; payload?: string }[] = [];
      listener.on('notification', (message) => messages.push(message));
      await listener.query(`listen "${JOBS_INSERT_CHANNEL}"`);
      await db.pool.query(`select graphile_worker.add_jobs(array[json_populate_record(null::graphile_worker.job_spec, '{"identifier":"rl_internals_test"}'::json)])`);
      const client = await db.pool.connect();
      try {
        await wakeWorkers(client);
      } finally {
        client.release();
      }
      for (let i = 0; i < 100 && messages.length < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(messages.length, 2);
      const [theirs, ours] = messages.map((message) => JSON.parse(message.payload ?? '') as { count?: unknown });
      assert.equal(typeof theirs!.count, 'number', `graphile-worker's own notification: ${messages[0]!.payload}`);
      assert.equal(ours!.count, 1);
    } finally {
      await listener.end();
    }
  });

  it('the public jobs view has the columns the sweeper reads', async () => {
    const { rows } = await db.pool.query<{ column_name: string }>(
      `select column_name from information_schema.columns where table_schema = 'graphile_worker' and table_name = 'jobs'`,
    );
    const columns = new Set(rows.map((row) => row.column_name));
    for (const column of ['task_identifier', 'priority', 'locked_at', 'locked_by', 'run_at', 'attempts', 'max_attempts']) {
      assert.ok(columns.has(column), `graphile_worker.jobs has no ${column}`);
    }
  });
});
