import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

// scripts/production-start.mjs is the Docker image's install and start-up
// path without Docker; CI runs it here against a fresh database.
describe('scripts/production-start.mjs (the image without Docker)', () => {
  // An empty database, not a clone of the migrated template: the script runs
  // migrate itself, as the compose `migrate` service does.
  const name = `runledger_image_${randomBytes(6).toString('hex')}`;
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  before(() => admin(`create database ${name}`));
  after(() => admin(`drop database if exists ${name} with (force)`));

  it('installs production dependencies only, migrates, starts serve and work, passes the HEALTHCHECK and stops on SIGTERM', { timeout: 240_000 }, async () => {
    const { stdout } = await run(process.execPath, [path.join('scripts', 'production-start.mjs')], {
      env: { ...process.env, DATABASE_URL: url.toString() },
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
    });
    const lines = stdout.trim().split('\n');
    assert.match(lines[0]!, /^ok npm ci --omit=dev --omit=optional: no embedded PostgreSQL, no devDependencies$/);
    assert.match(lines[1]!, /^ok serve refuses to bind to 0\.0\.0\.0 without RUNLEDGER_TOKEN$/);
    assert.match(lines[2]!, /^ok migrate: /);
    assert.match(lines[3]!, /^ok HEALTHCHECK: \/health\/ready 200 ok \(database, projection, listener, streamServer, memory\)$/);
    assert.match(lines[4]!, /^ok GET \/: the dashboard page$/);
    assert.match(lines[5]!, /^ok work: online/);
    assert.match(lines[6]!, /^ok SIGTERM: serve and work exit 0$/);
    assert.equal(lines[7], 'production start-up passed');
  });
});
