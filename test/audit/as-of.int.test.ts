import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { modelAsOf } from '../../src/projections/model-at.js';
import { applyModelDiff, diffModels } from '../../src/projections/model-diff.js';
import { takeDueSnapshots } from '../../src/projections/model-snapshots.js';
import { ensureProjectionVersion, rebuild } from '../../src/projections/rebuild.js';
import { snapshot } from '../../src/projections/snapshot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { demoSource } from '../projections/helpers.js';
import { seeded } from './random-json.js';

const K = 400;

describe('the read model as of any offset', () => {
  let db: TestDatabase;
  let head: number;
  before(async () => {
    db = await createTestDatabase(6);
    await ensureProjectionVersion(db.pool);
    await demoSource({ seed: 17 })(db.pool, 3000, 37);
    head = 3000;
  });
  after(async () => {
    await db.drop();
  });

  it('stores a snapshot at every multiple of K, and each as-of-N replays at most K events from the nearest', async () => {
    assert.deepEqual(await takeDueSnapshots(db.pool, { every: K, keep: 0 }), [400, 800, 1200, 1600, 2000, 2400, 2800]);
    assert.deepEqual(await takeDueSnapshots(db.pool, { every: K, keep: 0 }), [], 'nothing new is due');
    for (const n of [0, 1, 399, 400, 401, 2799, 2800, 3000]) {
      const result = await modelAsOf(db.pool, n);
      assert.equal(result.offset, n);
      assert.equal(result.base, Math.floor(n / K) * K, `base of ${n}`);
      assert.equal(result.replayed, n - result.base);
      assert.ok(result.replayed < K);
    }
    await assert.rejects(modelAsOf(db.pool, head + 1), /at: 3001 is beyond the ledger head 3000/);
  });

  it('?at=N equals `rebuild --to N` for random N', async () => {
    const random = seeded(5);
    const offsets = [400, 2999, ...Array.from({ length: 4 }, () => 1 + Math.floor(random() * head))];
    for (const n of offsets) {
      const rebuilt = await rebuild(db.pool, { to: n });
      const expected = await snapshot(db.pool, {}, rebuilt!.schema);
      assert.equal(expected.offset, n);
      const actual = await modelAsOf(db.pool, n);
      assert.deepStrictEqual(actual.model, expected.model, `model as of ${n}`);
      await db.pool.query(`drop schema "${rebuilt!.schema}" cascade`);
    }
  });

  it('diff(N, M) applied to the model at N gives the model at M, and names only what changed', async () => {
    const random = seeded(8);
    for (let round = 0; round < 6; round += 1) {
      const n = Math.floor(random() * head);
      const m = round === 0 ? n : Math.floor(random() * head);
      const [atN, atM] = [await modelAsOf(db.pool, n), await modelAsOf(db.pool, m)];
      const diff = diffModels(atN.model, atM.model);
      const applied = applyModelDiff(structuredClone(atN.model), diff);
      assert.deepStrictEqual(applied, atM.model, `diff ${n} -> ${m}`);
      const changed = Object.values(diff).reduce((sum, table) => sum + Object.keys(table.upserted).length + table.removed.length, 0);
      if (n === m) assert.equal(changed, 0, 'no change between an offset and itself');
      else assert.ok(changed > 0, `something changed between ${n} and ${m}`);
    }
  });

  it('keeps only the newest snapshots when told to, and ignores none of the answers', async () => {
    await demoSource({ seed: 18 })(db.pool, 900, 50);
    assert.deepEqual(await takeDueSnapshots(db.pool, { every: K, keep: 3 }), [3200, 3600]);
    const { rows } = await db.pool.query('select position from runledger.model_snapshots order by position');
    assert.deepEqual(rows.map((row) => Number(row.position)), [2800, 3200, 3600]);
    // Below the oldest snapshot the answer is still exact, replayed from the start.
    const early = await modelAsOf(db.pool, 1000);
    assert.equal(early.base, 0);
    const rebuilt = await rebuild(db.pool, { to: 1000 });
    assert.deepStrictEqual(early.model, (await snapshot(db.pool, {}, rebuilt!.schema)).model);
  });
});
