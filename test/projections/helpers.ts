import { after, before } from 'node:test';
import type pg from 'pg';
import { demoEvents, appendDemoEvents, type DemoOptions } from '../../bench/lib/demo-events.js';
import type { TypedNewEvent } from '../../src/events/catalogue.js';
import { Doorbell } from '../../src/ledger/doorbell.js';
import { createLogger } from '../../src/ops/logger.js';
import { startProjector, type Projector } from '../../src/projections/projector.js';
import { ensureProjectionVersion } from '../../src/projections/rebuild.js';
import { ARCHIVE_TABLES, TABLE_SPECS } from '../../src/projections/tables.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/** Every read-model table of `schema`, the archive's included, row for row, as PostgreSQL holds them (jsonb of each row, in key order). */
export async function dumpTables(pool: pg.Pool, schema = 'projection'): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  const tables = [
    ...Object.values(TABLE_SPECS).map((spec) => [spec.table, spec.keyColumns] as const),
    [ARCHIVE_TABLES.job, TABLE_SPECS.job.keyColumns] as const,
    [ARCHIVE_TABLES.step, TABLE_SPECS.step.keyColumns] as const,
  ];
  for (const [table, keyColumns] of tables) {
    const { rows } = await pool.query<{ rows: unknown[] }>(
      `select coalesce(jsonb_agg(to_jsonb(t) order by ${keyColumns.join(', ')}), '[]') as rows from "${schema}".${table} t`,
    );
    out[table] = rows[0]!.rows;
  }
  return out;
}

export async function checkpointOf(pool: pg.Pool, schema = 'projection'): Promise<number> {
  const { rows } = await pool.query<{ position: string }>(`select position from "${schema}".checkpoint`);
  return Number(rows[0]!.position);
}

/** A demo event source and a function appending its next events. */
export function demoSource(options: DemoOptions = {}) {
  const source: Iterator<TypedNewEvent> = demoEvents(options);
  return (pool: pg.Pool, count: number, batchSize = 100) => appendDemoEvents(pool, source, count, batchSize);
}

export interface ProjectedDatabase {
  readonly db: TestDatabase;
  readonly projector: Projector;
}

/**
 * A fresh database with a projector following its ledger, for the enclosing
 * describe(): started before its tests, stopped and dropped after them. Read
 * the fields inside tests (they are set once `before` has run).
 */
export function projectedDatabase(batchSize: number): ProjectedDatabase {
  const fixture = {} as { db: TestDatabase; projector: Projector; doorbell: Doorbell };
  before(async () => {
    fixture.db = await createTestDatabase();
    fixture.doorbell = new Doorbell(fixture.db.url);
    await fixture.doorbell.start();
    await ensureProjectionVersion(fixture.db.pool);
    fixture.projector = startProjector({ pool: fixture.db.pool, doorbell: fixture.doorbell, logger: createLogger('silent'), batchSize });
  });
  after(async () => {
    await fixture.projector.stop();
    await fixture.doorbell.stop();
    await fixture.db.drop();
  });
  return fixture;
}
