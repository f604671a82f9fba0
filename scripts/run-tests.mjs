// Runs the test suite against real PostgreSQL: DATABASE_URL when set,
// otherwise a throwaway embedded server started here. Each test file clones
// its own database from a migrated template (test/helpers/database.ts).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbedded } from '../dist/src/ops/database.js';
import { migrate } from '../dist/src/ops/migrate.js';

const TEMPLATE = 'runledger_test_template';
const filters = process.argv.slice(2);

function testFiles(dir) {
  return fs
    .readdirSync(dir, { recursive: true })
    .filter((file) => String(file).endsWith('.test.js'))
    .map((file) => path.join(dir, String(file)))
    .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
    .sort();
}

let database;
let url = process.env.DATABASE_URL;
if (!url) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runledger-test-pg-'));
  fs.chmodSync(dataDir, 0o777);
  database = await startEmbedded({ dataDir: path.join(dataDir, 'data'), port: 0, throwaway: true });
  url = database.url;
  console.log(`# embedded PostgreSQL at ${url.replace(/:[^:@]*@/, ':***@')}`);
}

let code = 1;
try {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`drop database if exists ${TEMPLATE}`);
  await admin.query(`create database ${TEMPLATE}`);
  await admin.end();
  const templateUrl = new URL(url);
  templateUrl.pathname = `/${TEMPLATE}`;
  const pool = new pg.Pool({ connectionString: templateUrl.toString(), max: 2 });
  await migrate(pool);
  await pool.end();

  const files = testFiles('dist/test');
  code = await new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files],
      {
        stdio: 'inherit',
        env: { ...process.env, DATABASE_URL: url, RUNLEDGER_TEST_TEMPLATE: TEMPLATE },
      },
    );
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
} finally {
  await database?.stop();
}
process.exit(code);
