import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { snapshot } from '../../src/projections/snapshot.js';
import { checkpointOf, demoSource, dumpTables, projectedDatabase } from './helpers.js';

const run = promisify(execFile);

describe('rebuild --to N (time travel)', () => {
  const fixture = projectedDatabase(64);

  it('`runledger rebuild --to N` builds exactly the tables an incremental projection stopped at N had', async () => {
    const appendDemo = demoSource({ seed: 51 });
    const at: { n: number; tables: Record<string, unknown[]> }[] = [];
    for (const size of [777, 1, 1500]) {
      await appendDemo(fixture.db.pool, size, 1 + (size % 60));
      await fixture.projector.caughtUp();
      at.push({ n: await checkpointOf(fixture.db.pool), tables: await dumpTables(fixture.db.pool) });
    }
    await appendDemo(fixture.db.pool, 900, 90);
    await fixture.projector.caughtUp();
    const live = await dumpTables(fixture.db.pool);

    for (const { n, tables } of at) {
      const { stdout } = await run(process.execPath, ['dist/src/cli.js', 'rebuild', '--to', String(n)], {
        env: { ...process.env, DATABASE_URL: fixture.db.url, LOG_LEVEL: 'silent' },
      });
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
      assert.equal(result.schema, `projection_at_${n}`);
      assert.equal(result.position, n);
      assert.equal(await checkpointOf(fixture.db.pool, result.schema), n);
      assert.deepStrictEqual(await dumpTables(fixture.db.pool, result.schema), tables, `tables as of ${n}`);
      assert.equal((await snapshot(fixture.db.pool, {}, result.schema)).offset, n);
    }
    // The live read model was left alone.
    assert.deepStrictEqual(await dumpTables(fixture.db.pool), live);
  });

  it('refuses an offset beyond the head or not a whole number, naming the option, and builds nothing', async () => {
    const env = { ...process.env, DATABASE_URL: fixture.db.url, LOG_LEVEL: 'silent' };
    for (const bad of ['999999', '-1', 'abc']) {
      const { code, stderr } = await run(process.execPath, ['dist/src/cli.js', 'rebuild', '--to', bad], { env }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      assert.equal(code, 2, `exit code for --to ${bad}`);
      assert.match(stderr, /--to (must be a non-negative whole number|999999 is beyond the ledger head \d+)/);
    }
    const { rows } = await fixture.db.pool.query(`select nspname from pg_namespace where nspname like 'projection%' order by 1`);
    assert.deepEqual(
      rows.map((row) => row.nspname).filter((name: string) => !/^projection_at_(777|778|2278)$/.test(name)),
      ['projection'],
    );
  });
});
