import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const run = promisify(execFile);
const ROOT = process.cwd();

// What the Dockerfile's final stage does, minus Docker (no engine here):
// install without devDependencies, copy the build and the migrations, and
// run the roles. Proves nothing at run time needs a devDependency.
describe('production install (the Dockerfile path)', () => {
  let dir: string;
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase(2);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'runledger-prod-'));
    await fs.copyFile(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    await fs.copyFile(path.join(ROOT, 'package-lock.json'), path.join(dir, 'package-lock.json'));
    await fs.cp(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
    await fs.cp(path.join(ROOT, 'sql'), path.join(dir, 'sql'), { recursive: true });
    // --prefer-offline: the packages are in npm's cache from the install that built this checkout.
    await run('npm', ['ci', '--omit=dev', '--omit=optional', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: dir,
      env: { ...process.env, NODE_ENV: 'production' },
      maxBuffer: 16 * 1024 * 1024,
    });
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    await db.drop();
  });

  it('loads every module of the build with production dependencies only', async () => {
    // An import of a devDependency anywhere in src/ fails here (cli.js is
    // left out: importing it runs a command).
    const files = (await fs.readdir(path.join(dir, 'dist', 'src'), { recursive: true }))
      .map(String)
      .filter((file) => file.endsWith('.js') && file !== 'cli.js')
      .map((file) => `./dist/src/${file.split(path.sep).join('/')}`);
    assert.ok(files.length > 50, `found ${files.length} modules`);
    const script = `for (const file of ${JSON.stringify(files)}) await import(file); console.log('loaded');`;
    const loaded = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, env: { ...process.env, NODE_ENV: 'production' } });
    assert.equal(loaded.stdout, 'loaded\n');
  });

  it('runs migrate and verify against DATABASE_URL', async () => {
    const env = { ...process.env, DATABASE_URL: db.url, NODE_ENV: 'production', LOG_LEVEL: 'warn' };
    const fresh = await createTestDatabase(2, { migrated: false });
    try {
      const migrate = await run(process.execPath, ['dist/src/cli.js', 'migrate'], { cwd: dir, env: { ...env, DATABASE_URL: fresh.url } });
      const sqlFiles = (await fs.readdir(path.join(dir, 'sql'))).filter((file) => /^\d{6}_.+\.sql$/.test(file)).sort();
      const { rows } = await fresh.pool.query<{ name: string }>('select name from runledger.migrations order by id');
      assert.deepEqual(rows.map((row) => row.name), sqlFiles, 'every migration of sql/ applied');
      assert.match(migrate.stdout, new RegExp(`applied ${sqlFiles.length} migrations`));
    } finally {
      await fresh.drop();
    }
    const verify = await run(process.execPath, ['dist/src/cli.js', 'verify'], { cwd: dir, env });
    assert.match(verify.stdout, /^ok 0 0{64}\n$/);
  });
});
