import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import pg from 'pg';
import { Doorbell } from '../../src/ledger/doorbell.js';
import { head } from '../../src/ledger/read.js';
import { createLogger } from '../../src/ops/logger.js';
import { PROJECTIONS_LOCK_SPACE, PROJECTOR_LOCK } from '../../src/ops/locks.js';
import { startProjector } from '../../src/projections/projector.js';
import { ensureProjectionVersion, modelAt, rebuild } from '../../src/projections/rebuild.js';
import { readModel } from '../../src/projections/tables.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { appliedRanges, spawnProjector, type ProjectorChild } from './child.js';
import { checkpointOf, demoSource, dumpTables } from './helpers.js';

const logger = createLogger('silent');

/** The tables hold exactly the ledger up to their checkpoint: nothing half-applied, nothing twice. */
async function assertConsistent(db: TestDatabase): Promise<void> {
  const checkpoint = await checkpointOf(db.pool);
  assert.deepStrictEqual(await readModel(db.pool), (await modelAt(db.pool, checkpoint)).model, `tables at ${checkpoint}`);
}

/** The children's committed batches cover (from, ledgerHead] exactly once. */
function assertAppliedOnce(children: readonly ProjectorChild[], from: number, ledgerHead: number): void {
  const ranges = appliedRanges(children).sort((a, b) => a[0] - b[0]);
  assert.ok(ranges.length > 0);
  let next = from + 1;
  for (const [first, last, count] of ranges) {
    assert.equal(first, next, `batches are contiguous and disjoint: ${JSON.stringify(ranges)}`);
    assert.equal(count, last - first + 1);
    next = last + 1;
  }
  assert.equal(next - 1, ledgerHead, 'every event was applied');
}

describe('projector leadership and crashes', () => {
  let db: TestDatabase;
  const children: ProjectorChild[] = [];
  before(async () => {
    db = await createTestDatabase();
    // Start-up's version rebuild happens now, on the empty ledger, not inside the children.
    await ensureProjectionVersion(db.pool, logger);
  });
  afterEach(async () => {
    await Promise.all(children.map((child) => child.kill('SIGKILL')));
    children.length = 0;
  });
  after(() => db.drop());

  it('resumes after being killed mid-batch without applying anything twice', async () => {
    const appendDemo = demoSource({ seed: 31 });
    await appendDemo(db.pool, 1000, 250);
    const child = await spawnProjector(db.url, { HANG_AFTER_BATCHES: '3', BATCH_SIZE: '100' });
    children.push(child);
    await child.waitFor('hang');
    // The fourth batch's rows are written but not committed.
    await child.kill('SIGKILL');
    assert.equal(await checkpointOf(db.pool), 300);
    await assertConsistent(db);

    const doorbell = new Doorbell(db.url);
    await doorbell.start();
    const projector = startProjector({ pool: db.pool, doorbell, logger, standbyMs: 50 });
    try {
      await appendDemo(db.pool, 500, 100);
      await projector.caughtUp();
      assert.equal(await checkpointOf(db.pool), 1500);
      await assertConsistent(db);
      const incremental = await dumpTables(db.pool);
      await rebuild(db.pool, {});
      assert.deepStrictEqual(await dumpTables(db.pool), incremental);
    } finally {
      await projector.stop();
      await doorbell.stop();
    }
  });

  it('hands a standby\'s pooled connection back as it found it (no error listener left behind each second)', async () => {
    const holder = await db.pool.connect();
    // The smallest pool a projector accepts; a standby round uses one connection.
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    const doorbell = new Doorbell(db.url);
    await doorbell.start();
    await holder.query('select pg_advisory_lock($1, $2)', [PROJECTIONS_LOCK_SPACE, PROJECTOR_LOCK]);
    const projector = startProjector({ pool, doorbell, logger, standbyMs: 20 });
    try {
      // Some thirty standby rounds on the pool's two connections.
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(projector.leader, false);
      const clients = [await pool.connect(), await pool.connect()];
      const listeners = Math.max(...clients.map((client) => client.listenerCount('error')));
      for (const client of clients) client.release();
      assert.ok(listeners <= 2, `${listeners} error listeners on a standby's pooled connection`);
    } finally {
      await projector.stop();
      await doorbell.stop();
      await pool.end();
      await holder.query('select pg_advisory_unlock($1, $2)', [PROJECTIONS_LOCK_SPACE, PROJECTOR_LOCK]);
      holder.release();
    }
  });

  it('refuses a one-connection pool, on which its leader would wait forever for a second connection', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    const doorbell = new Doorbell(db.url);
    try {
      assert.throws(() => startProjector({ pool, doorbell, logger }), /at least 2 connections \(this one has max 1\)/);
    } finally {
      await pool.end();
    }
  });

  it('lets one of several processes apply; another takes over when it dies or loses its connection', async () => {
    const appendDemo = demoSource({ seed: 41 });
    const start = await head(db.pool);
    const a = await spawnProjector(db.url);
    const b = await spawnProjector(db.url);
    children.push(a, b);
    await eventually(() => [a, b].some((c) => c.lines.includes('leader')), 30_000, 'a leader');
    const [leader, standby] = a.lines.includes('leader') ? [a, b] : [b, a];
    const caughtUp = async () => {
      const target = await head(db.pool);
      await eventually(async () => (await checkpointOf(db.pool)) === target, 30_000, 'checkpoint at head');
    };
    for (let i = 0; i < 30; i += 1) await appendDemo(db.pool, 40, 13);
    await caughtUp();
    assert.ok(!standby.lines.includes('leader'), 'the standby did not lead while the leader lived');
    assert.ok(!standby.lines.some((line) => line.startsWith('applied')), 'the standby applied nothing');
    // It reports a batch after its COMMIT: let it say so before it dies, or the report has a hole.
    const reached = await head(db.pool);
    await eventually(() => appliedRanges([leader]).some(([, last]) => last === reached), 30_000, 'the leader to report its last batch');

    await leader.kill('SIGKILL');
    for (let i = 0; i < 30; i += 1) await appendDemo(db.pool, 40, 13);
    await standby.waitFor('leader');
    await caughtUp();

    // Cut the leading process's connection: the lock goes with it, and a third process may win it.
    const c = await spawnProjector(db.url);
    children.push(c);
    const { rows } = await db.pool.query(
      `select pg_terminate_backend(pid) as done from pg_locks
        where locktype = 'advisory' and classid = $1 and objid = $2 and objsubid = 2 and granted
          and database = (select oid from pg_database where datname = current_database())`,
      [PROJECTIONS_LOCK_SPACE, PROJECTOR_LOCK],
    );
    assert.deepEqual(rows, [{ done: true }]);
    for (let i = 0; i < 30; i += 1) await appendDemo(db.pool, 40, 13);
    await caughtUp();
    assert.ok([standby, c].some((child) => child.lines.at(-1) !== 'standby'));

    // A child reports a batch after its COMMIT: the checkpoint can be there before the line is.
    const ledgerHead = await head(db.pool);
    await eventually(
      () => appliedRanges([a, b, c]).some(([, last]) => last === ledgerHead),
      30_000,
      'the children to report the last batch',
    );
    assertAppliedOnce([a, b, c], start, ledgerHead);
    await assertConsistent(db);
  });
});
