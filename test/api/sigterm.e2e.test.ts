import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { spawnServe, type ServeProcess } from '../helpers/serve-process.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli.js');

describe('SIGTERM of serve under API write load', () => {
  let db: TestDatabase;
  let serve: ServeProcess | undefined;
  let work: ReturnType<typeof spawn> | undefined;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await serve?.stop();
    if (work && work.exitCode === null) {
      work.kill('SIGTERM');
      await new Promise((resolve) => work!.once('exit', resolve));
    }
    await db.drop();
  });

  it('loses no acknowledged job, creates each key at most once, and runs no step twice', async () => {
    const env = { RUNLEDGER_WRITE_RATE: '0' };
    serve = await spawnServe(db.url, env);
    work = spawn(process.execPath, [CLI, 'work'], {
      env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'warn', RUNLEDGER_WORKER_CONCURRENCY: '8' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const acked = new Map<string, string>(); // key → job id
    const sent: string[] = [];
    let n = 0;
    let stopping = false;
    const client = async (base: string) => {
      while (!stopping) {
        const key = `sigterm-${n++}`;
        sent.push(key);
        try {
          const res = await fetch(`${base}/api/jobs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': key },
            body: JSON.stringify({ pipeline: 'content_agents', input: { prompt: key, speed: 100, failureRate: 0 } }),
          });
          const body = (await res.json()) as { id?: string };
          if (res.status === 201 || res.status === 200) acked.set(key, body.id!);
        } catch {
          // The server went away mid-request: not acknowledged.
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };
    const base = `http://127.0.0.1:${serve.httpPort}`;
    const clients = Array.from({ length: 8 }, () => client(base));
    let exit: number | null;
    try {
      await eventually(() => acked.size >= 40, 60_000, '40 acknowledged creates');
      exit = await serve.stop('SIGTERM');
    } finally {
      stopping = true;
      await Promise.all(clients);
    }
    assert.equal(exit, 0, `serve stopped gracefully: ${JSON.stringify(serve.logs.filter((l) => Number(l.level) >= 50))}`);
    serve = undefined;

    // Every acknowledged job is in the ledger and in pipelines.jobs.
    const { rows } = await db.pool.query<{ id: string }>(`select stream_id as id from ledger.events where type = 'job.created'`);
    const inLedger = new Set(rows.map((r) => r.id));
    for (const [key, id] of acked) assert.ok(inLedger.has(id), `acknowledged ${key} → ${id} is in the ledger`);

    // After a restart, every key sent (acknowledged or not) is sent again:
    // an acknowledged one answers its first job, none makes a second.
    serve = await spawnServe(db.url, env);
    const again = `http://127.0.0.1:${serve.httpPort}`;
    for (const key of sent) {
      const res = await fetch(`${again}/api/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ pipeline: 'content_agents', input: { prompt: key, speed: 100, failureRate: 0 } }),
      });
      const body = (await res.json()) as { id: string };
      assert.ok(res.status === 200 || res.status === 201, `${key}: ${res.status}`);
      if (acked.has(key)) {
        assert.equal(res.status, 200);
        assert.equal(body.id, acked.get(key));
      }
    }
    const created = await db.pool.query<{ n: number; keys: number }>(
      `select count(*)::int as n, count(distinct data->'input'->>'prompt')::int as keys from ledger.events where type = 'job.created'`,
    );
    assert.equal(created.rows[0]!.n, sent.length, 'one job per key');
    assert.equal(created.rows[0]!.keys, sent.length);

    // Let the worker finish them all; no step completed twice.
    await eventually(
      async () => (await db.pool.query(`select count(*)::int as n from pipelines.jobs where state not in ('completed', 'failed')`)).rows[0].n === 0,
      240_000,
      'every job to finish',
    );
    const twice = await db.pool.query(
      `select stream_id, data->>'step' as step, count(*) from ledger.events where type = 'step.completed'
        group by 1, 2 having count(*) > 1`,
    );
    assert.deepEqual(twice.rows, [], 'no step completed twice');
  });
});
