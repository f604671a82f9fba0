import type pg from 'pg';
import { demoEvents, appendDemoEvents, type DemoOptions } from '../../bench/lib/demo-events.js';
import type { TypedNewEvent } from '../../src/events/catalogue.js';
import { ARCHIVE_TABLES, TABLE_SPECS } from '../../src/projections/tables.js';

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
