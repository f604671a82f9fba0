import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Doorbell } from '../../src/ledger/doorbell.js';
import { createLogger } from '../../src/ops/logger.js';
import { startProjector, type Projector } from '../../src/projections/projector.js';
import { ensureProjectionVersion } from '../../src/projections/rebuild.js';
import { snapshot } from '../../src/projections/snapshot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { checkpointOf, demoSource, dumpTables } from './helpers.js';

const run = promisify(execFile);

describe('rebuild --to N (time travel)', () => {
  let db: TestDatabase;
  let doorbell: Doorbell;
  let projector: Projector;
  before(async () => {
    db = await createTestDatabase();
    doorbell = new Doorbell(db.url);
    await doorbell.start();
    await ensureProjectionVersion(db.pool);
    projector = startProjector({ pool: db.pool, doorbell, logger: createLogger('silent'), batchSize: 64 });
  });
  after(async () => {
    await projector.stop();
    await doorbell.stop();
    await db.drop();
  });

  it('`runledger rebuild --to N` builds exactly the tables an incremental projection stopped at N had', async () => {
    const appendDemo = demoSource({ seed: 51 });
    const at: { n: number; tables: Record<string, unknown[]> }[] = [];
    for (const size of [777, 1, 1500]) {
      await appendDemo(db.pool, size, 1 + (size % 60));
      await projector.caughtUp();
      at.push({ n: await checkpointOf(db.pool), tables: await dumpTables(db.pool) });
    }
    await appendDemo(db.pool, 900, 90);
    await projector.caughtUp();
    const live = await dumpTables(db.pool);

    for (const { n, tables } of at) {
      const { stdout } = await run(process.execPath, ['dist/src/cli.js', 'rebuild', '--to', String(n)], {
        env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent' },
      });
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
      assert.equal(result.schema, `projection_at_${n}`);
      assert.equal(result.position, n);
      assert.equal(await checkpointOf(db.pool, result.schema), n);
      assert.deepStrictEqual(await dumpTables(db.pool, result.schema), tables, `tables as of ${n}`);
      assert.equal((await snapshot(db.pool, {}, result.schema)).offset, n);
    }
    // The live read model was left alone.
    assert.deepStrictEqual(await dumpTables(db.pool), live);
  });

  it('refuses an offset beyond the head or not a whole number, naming the option, and builds nothing', async () => {
    const env = { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent' };
    for (const bad of ['999999', '-1', 'abc']) {
      const { code, stderr } = await run(process.execPath, ['dist/src/cli.js', 'rebuild', '--to', bad], { env }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      assert.equal(code, 2, `exit code for --to ${bad}`);
      assert.match(stderr, /--to (must be a non-negative whole number|999999 is beyond the ledger head \d+)/);
    }
    const { rows } = await db.pool.query(`select nspname from pg_namespace where nspname like 'projection%' order by 1`);
    assert.deepEqual(
      rows.map((row) => row.nspname).filter((name: string) => !/^projection_at_(777|778|2278)$/.test(name)),
      ['projection'],
    );
  });
});
