import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Doorbell } from '../../src/ledger/doorbell.js';
import { head, read } from '../../src/ledger/read.js';
import { createLogger } from '../../src/ops/logger.js';
import type { Delta } from '../../src/projections/delta.js';
import { eventToDeltas } from '../../src/projections/event-to-deltas.js';
import type { Snapshot } from '../../src/projections/model.js';
import { startProjector, type Projector } from '../../src/projections/projector.js';
import { ensureProjectionVersion, rebuild } from '../../src/projections/rebuild.js';
import { applyDeltas, matchesSlice, type Slice } from '../../src/projections/reducer.js';
import { snapshot } from '../../src/projections/snapshot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { demoSource } from './helpers.js';

const SLICES: Slice[] = [
  {},
  { pipeline: 'video_clip' },
  { pipeline: 'content_agents' },
  { jobId: 'job-2' },
  { jobId: 'job-40' },
  { jobId: 'job-90', pipeline: 'content_agents' },
];

/** Deltas of the events in (from, to], straight from the ledger. */
async function deltasBetween(db: TestDatabase, from: number, to: number): Promise<Delta[]> {
  const deltas: Delta[] = [];
  for (let after = from; after < to; ) {
    const events = await read(db.pool, { after, until: to, limit: 1000 });
    for (const event of events) deltas.push(...eventToDeltas(event));
    after = events[events.length - 1]!.position;
  }
  return deltas;
}

function reduce(start: Snapshot, deltas: readonly Delta[], slice: Slice) {
  return applyDeltas(structuredClone(start.model), deltas.filter((delta) => matchesSlice(delta, slice)));
}

describe('snapshot + deltas', () => {
  let db: TestDatabase;
  let doorbell: Doorbell;
  let projector: Projector;
  const published: Delta[] = [];
  before(async () => {
    db = await createTestDatabase();
    doorbell = new Doorbell(db.url);
    await doorbell.start();
    // The start-up rebuild (version 0 → current) happens now, before any event: every delta is then published.
    await ensureProjectionVersion(db.pool);
    projector = startProjector({
      pool: db.pool,
      doorbell,
      logger: createLogger('silent'),
      batchSize: 120,
      afterCommit: (deltas) => published.push(...deltas),
    });
  });
  after(async () => {
    await projector.stop();
    await doorbell.stop();
    await db.drop();
  });

  it('reduce(snapshot(N), deltas(N..M)) equals snapshot(M), whole and sliced, for N < M', async () => {
    const appendDemo = demoSource({ seed: 21 });
    // Snapshots taken by the live projector at uneven offsets.
    const stages: Snapshot[][] = [];
    for (const size of [0, 233, 1, 1200, 97, 1800, 412]) {
      if (size > 0) await appendDemo(db.pool, size, 1 + (size % 50));
      await projector.caughtUp();
      stages.push(await Promise.all(SLICES.map((slice) => snapshot(db.pool, slice))));
    }
    const ledgerHead = await head(db.pool);
    assert.equal(stages.at(-1)![0]!.offset, ledgerHead);
    for (let n = 0; n < stages.length; n += 1) {
      for (let m = n + 1; m < stages.length; m += 1) {
        const deltas = await deltasBetween(db, stages[n]![0]!.offset, stages[m]![0]!.offset);
        SLICES.forEach((slice, s) => {
          assert.deepStrictEqual(
            reduce(stages[n]![s]!, deltas, slice),
            stages[m]![s]!.model,
            `slice ${JSON.stringify(slice)} from ${stages[n]![s]!.offset} to ${stages[m]![s]!.offset}`,
          );
        });
      }
    }
    assert.ok(Object.keys(stages.at(-1)![3]!.model.steps).length > 0, 'the job slice holds its steps');

    // Any N: the tables as of N, built by `rebuild --to N`, plus the deltas after N.
    let seed = 7;
    const random = () => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
    for (let i = 0; i < 4; i += 1) {
      const n = 1 + Math.floor(random() * (ledgerHead - 1));
      const built = await rebuild(db.pool, { to: n, pageSize: 300, flushEvents: 600 });
      const deltas = await deltasBetween(db, n, ledgerHead);
      for (const [s, slice] of SLICES.entries()) {
        const atN = await snapshot(db.pool, slice, built!.schema);
        assert.equal(atN.offset, n);
        assert.deepStrictEqual(reduce(atN, deltas, slice), stages.at(-1)![s]!.model, `from ${n}, slice ${JSON.stringify(slice)}`);
      }
      await db.pool.query(`drop schema ${built!.schema} cascade`);
    }
  });

  it('publishes, in offset order, exactly the deltas the ledger gives again', async () => {
    const ledgerHead = await head(db.pool);
    assert.deepStrictEqual(published, await deltasBetween(db, 0, ledgerHead));
  });
});
