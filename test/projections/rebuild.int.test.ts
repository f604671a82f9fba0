import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Doorbell } from '../../src/ledger/doorbell.js';
import { head } from '../../src/ledger/read.js';
import { createLogger } from '../../src/ops/logger.js';
import { startProjector, type Projector } from '../../src/projections/projector.js';
import { ensureProjectionVersion, modelAt, rebuild } from '../../src/projections/rebuild.js';
import type { Snapshot } from '../../src/projections/model.js';
import { snapshot } from '../../src/projections/snapshot.js';
import { readModel } from '../../src/projections/tables.js';
import { PROJECTION_VERSION } from '../../src/projections/version.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { checkpointOf, demoSource, dumpTables } from './helpers.js';

const logger = createLogger('silent');

describe('rebuild', () => {
  let db: TestDatabase;
  let doorbell: Doorbell;
  let projector: Projector;
  const appendDemo = demoSource({ seed: 11 });
  before(async () => {
    db = await createTestDatabase();
    doorbell = new Doorbell(db.url);
    await doorbell.start();
    projector = startProjector({ pool: db.pool, doorbell, logger, batchSize: 150 });
  });
  after(async () => {
    await projector.stop();
    await doorbell.stop();
    await db.drop();
  });

  it('gives exactly the tables incremental projection gave, row for row, over thousands of demo events', async () => {
    // Small appends of varying size while the projector follows: many batches of all shapes.
    for (const size of [1, 7, 300, 50, 2000, 3, 1500, 640, 1]) await appendDemo(db.pool, size, 1 + (size % 97));
    await projector.caughtUp();
    const ledgerHead = await head(db.pool);
    assert.equal(ledgerHead, 4502);
    assert.equal(await checkpointOf(db.pool), ledgerHead);
    const incremental = await dumpTables(db.pool);
    const incrementalModel = await readModel(db.pool);
    assert.ok(incremental.jobs!.length > 100, 'the demo ledger made jobs');
    assert.ok((incremental.alerts!.length as number) > 0 && (incremental.queues!.length as number) > 0);
    assert.ok(incremental.jobs!.some((job) => (job as { status: string }).status === 'failed'));
    assert.ok(incremental.jobs!.some((job) => (job as { attempts: number }).attempts > 1), 'some dead letters were retried');
    assert.ok(incremental.jobs!.some((job) => (job as { status: string }).status === 'cancelled'));
    const { rows: kinds } = await db.pool.query('select distinct type from ledger.events');
    assert.equal(kinds.length, 21, 'every event type of the catalogue occurs');

    // What a rebuild that died would leave behind.
    await db.pool.query('create schema projection_build_1_2; create schema projection_old_3_4');
    // Pages and flushes smaller than the ledger: rows are written out, then changed and written again.
    const result = await rebuild(db.pool, { logger, pageSize: 700, flushEvents: 1400 });
    assert.equal(result!.position, ledgerHead);
    const { rows: schemas } = await db.pool.query(`select nspname from pg_namespace where nspname like 'projection%'`);
    assert.deepEqual(schemas.map((row) => row.nspname), ['projection']);
    assert.deepStrictEqual(await dumpTables(db.pool), incremental);
    assert.deepStrictEqual((await modelAt(db.pool)).model, incrementalModel);
    assert.equal(await checkpointOf(db.pool), ledgerHead);
  });

  it('rebuilds at start-up when the stored projection version differs from the code, once', async () => {
    const before = await dumpTables(db.pool);
    await db.pool.query('update projection.checkpoint set version = $1', [PROJECTION_VERSION - 1]);
    const results = await Promise.all([ensureProjectionVersion(db.pool, logger), ensureProjectionVersion(db.pool, logger)]);
    assert.deepEqual(results.sort(), [false, true]);
    const { rows } = await db.pool.query('select version from projection.checkpoint');
    assert.equal(rows[0].version, PROJECTION_VERSION);
    assert.deepStrictEqual(await dumpTables(db.pool), before);
    assert.equal(await ensureProjectionVersion(db.pool, logger), false);
  });

  it('swaps while events keep arriving and snapshot readers keep reading: after the swap nothing is missing', async () => {
    let writing = true;
    let appended = 0;
    const writer = (async () => {
      while (writing) {
        await appendDemo(db.pool, 40, 40);
        appended += 40;
      }
    })();
    // Dashboard readers keep taking snapshots across the swap.
    const snapshots: Snapshot[] = [];
    const reader = (async () => {
      while (writing) snapshots.push(await snapshot(db.pool));
    })();
    const result = await rebuild(db.pool, {
      logger,
      pageSize: 500,
      // Events that arrive between the first build and the swap go through the catch-up.
      afterBuild: () => appendDemo(db.pool, 3000, 500).then(() => undefined),
    });
    writing = false;
    await writer;
    await reader;
    assert.ok(appended > 0 && snapshots.length > 2);
    // Each snapshot's rows are the model at its offset: no reader saw old rows with a new offset or the reverse.
    for (const taken of [snapshots[0]!, snapshots[Math.floor(snapshots.length / 2)]!, snapshots.at(-1)!]) {
      assert.deepStrictEqual(taken.model, (await modelAt(db.pool, taken.offset)).model, `snapshot at ${taken.offset}`);
    }
    assert.ok(result!.events > 4502 + 3000);
    await projector.caughtUp();
    const ledgerHead = await head(db.pool);
    assert.equal(await checkpointOf(db.pool), ledgerHead);
    const incremental = await dumpTables(db.pool);
    assert.deepStrictEqual((await readModel(db.pool)), (await modelAt(db.pool)).model);
    await rebuild(db.pool, { logger });
    assert.deepStrictEqual(await dumpTables(db.pool), incremental);
  });
});
