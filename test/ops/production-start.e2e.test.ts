import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const run = promisify(execFile);

// scripts/production-start.mjs is the Docker image's install and start-up
// path without Docker; CI runs it here against a fresh database.
describe('scripts/production-start.mjs (the image without Docker)', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase(2);
    // The script runs migrate itself, as the compose `migrate` service does: start from an empty schema.
    // Every schema the migrations made, whichever they are, so a new migration's schema cannot survive.
    const { rows } = await db.pool.query<{ name: string }>(
      `select quote_ident(nspname) as name from pg_namespace where nspname not like 'pg\\_%' and nspname not in ('information_schema', 'public')`,
    );
    await db.pool.query(`drop schema ${rows.map((r) => r.name).join(', ')} cascade`);
  });
  after(async () => {
    await db?.drop();
  });

  it('installs production dependencies only, migrates, starts serve and work, passes the HEALTHCHECK and stops on SIGTERM', { timeout: 240_000 }, async () => {
    const { stdout } = await run(process.execPath, [path.join('scripts', 'production-start.mjs')], {
      env: { ...process.env, DATABASE_URL: db.url },
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
    });
    const lines = stdout.trim().split('\n');
    assert.match(lines[0]!, /^ok npm ci --omit=dev --omit=optional: no embedded PostgreSQL, no devDependencies$/);
    assert.match(lines[1]!, /^ok serve refuses to bind to 0\.0\.0\.0 without RUNLEDGER_TOKEN$/);
    assert.match(lines[2]!, /^ok migrate: /);
    assert.match(lines[3]!, /^ok HEALTHCHECK: \/health\/ready 200 ok \(database, projection, listener, streamServer, memory\)$/);
    assert.match(lines[4]!, /^ok work: online/);
    assert.match(lines[5]!, /^ok SIGTERM: serve and work exit 0$/);
    assert.equal(lines[6], 'production start-up passed');
  });
});
