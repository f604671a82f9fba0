import type pg from 'pg';
import { demoEvents, appendDemoEvents, type DemoOptions } from '../../bench/lib/demo-events.js';
import type { TypedNewEvent } from '../../src/events/catalogue.js';
import { TABLE_SPECS } from '../../src/projections/tables.js';

/** Every read-model table of `schema`, row for row, as PostgreSQL holds them (jsonb of each row, in key order). */
export async function dumpTables(pool: pg.Pool, schema = 'projection'): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const spec of Object.values(TABLE_SPECS)) {
    const { rows } = await pool.query<{ rows: unknown[] }>(
      `select coalesce(jsonb_agg(to_jsonb(t) order by ${spec.keyColumns.join(', ')}), '[]') as rows from "${schema}".${spec.table} t`,
    );
    out[spec.table] = rows[0]!.rows;
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
