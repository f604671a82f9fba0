import { escapeIdentifier } from 'pg';
import type { Queryable } from '../ledger/types.js';
import type { Entity } from './delta.js';
import { queueKey, stepKey, type Model } from './model.js';

/** The schema the live read model is in; rebuilds swap another one in under this name. */
export const PROJECTION_SCHEMA = 'projection';

type ColumnType = 'text' | 'int' | 'float' | 'bigint' | 'bool' | 'ts' | 'text[]' | 'jsonb';
type Row = Record<string, unknown>;

interface TableSpec {
  readonly entity: Entity;
  readonly table: string;
  readonly keyColumns: readonly string[];
  /** [model field, column, type] */
  readonly columns: readonly (readonly [string, string, ColumnType])[];
  /** The row's key in the model. */
  readonly key: (row: Row) => string;
}

const spec = (
  entity: Entity,
  table: string,
  keyColumns: string[],
  key: (row: Row) => string,
  columns: string,
): TableSpec => ({
  entity,
  table,
  keyColumns,
  key,
  columns: columns
    .trim()
    .split(/\s*,\s*/)
    .map((entry) => {
      const [field, type] = entry.split(':') as [string, ColumnType];
      return [field, field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), type] as const;
    }),
});

export const TABLE_SPECS: Record<Entity, TableSpec> = {
  job: spec('job', 'jobs', ['id'], (r) => r.id as string, `
    id:text, pipeline:text, status:text, priority:text, steps:text[], currentSteps:text[], completedSteps:int,
    totalSteps:int, progress:int, attempts:int, inputBytes:float, outputBytes:float, createdAt:ts, startedAt:ts,
    finishedAt:ts, durationMs:float, error:text, failedStep:text, cancelReason:text, createdOffset:bigint,
    updatedOffset:bigint`),
  step: spec('step', 'steps', ['job_id', 'step'], (r) => stepKey(r.jobId as string, r.step as string), `
    jobId:text, step:text, pipeline:text, status:text, attempt:float, queue:text, priority:text, workerId:text,
    agentType:text, queuedAt:ts, runAt:ts, startedAt:ts, finishedAt:ts, durationMs:float, inputBytes:float,
    outputBytes:float, inputsFrom:jsonb, tokens:float, costUsd:float, percent:float, message:text, error:text,
    updatedOffset:bigint`),
  worker: spec('worker', 'workers', ['id'], (r) => r.id as string, `
    id:text, status:text, host:text, pid:float, concurrency:float, pipelines:text[], startedAt:ts, lastSeenAt:ts,
    stoppedAt:ts, stopReason:text, runningSteps:text[], completed:int, failed:int, loadRunning:float,
    loadRssBytes:float, loadCpuPercent:float, loadAt:ts, updatedOffset:bigint`),
  queue: spec('queue', 'queues', ['queue', 'pipeline'], (r) => queueKey(r.queue as string, r.pipeline as string), `
    queue:text, pipeline:text, depth:int`),
  pause: spec('pause', 'pauses', ['pipeline'], (r) => r.pipeline as string, `
    pipeline:text, paused:bool, reason:text, changedAt:ts, updatedOffset:bigint`),
  // The model holds a stats row as its fields only; the table adds the id and, for queries, kind and pipeline.
  stats: spec('stats', 'stats', ['id'], (r) => r.id as string, `id:text, kind:text, pipeline:text, fields:jsonb`),
  alert: spec('alert', 'alerts', ['id'], (r) => r.id as string, `
    id:text, kind:text, severity:text, subject:text, message:text, value:float, threshold:float, raisedAt:ts,
    raisedOffset:bigint, clearedAt:ts`),
};

export const ENTITIES = Object.keys(TABLE_SPECS) as Entity[];

/**
 * Archived jobs and their steps: the same columns as `jobs` and `steps`, in
 * the same schema (so a rebuild swaps them in with the live tables), never
 * part of the model or a snapshot. See sql/000005_archive.sql.
 */
export const ARCHIVE_TABLES = { job: 'archive_jobs', step: 'archive_steps' } as const;
export type ArchivedEntity = keyof typeof ARCHIVE_TABLES;

export const MODEL_KEYS: Record<Entity, keyof Model> = {
  job: 'jobs', step: 'steps', worker: 'workers', queue: 'queues', pause: 'pauses', stats: 'stats', alert: 'alerts',
};

const q = escapeIdentifier;

function selectList(table: TableSpec): string {
  return table.columns
    .map(([, column, type]) =>
      type === 'ts' ? `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as ${column}` : column,
    )
    .join(', ');
}

function fromDb(table: TableSpec, dbRow: Row): Row {
  const row: Row = {};
  for (const [field, column, type] of table.columns) {
    const value = dbRow[column];
    row[field] = type === 'bigint' && value !== null ? Number(value) : value;
  }
  return row;
}

/** The select list of an entity's table, times rendered as the model holds them; for queries over these tables. */
export function selectColumns(entity: Entity): string {
  return selectList(TABLE_SPECS[entity]);
}

/** A database row of an entity's table (selected with `selectColumns`) as the model holds it. */
export function rowFromDb(entity: Entity, dbRow: Record<string, unknown>): Record<string, unknown> {
  return fromDb(TABLE_SPECS[entity], dbRow);
}

/** Parts of a stats row id: `kind/pipeline[/step]`. */
function statsColumns(id: string): { kind: string; pipeline: string | null } {
  const parts = id.split('/');
  return { kind: parts[0]!, pipeline: parts[1] ?? null };
}

/**
 * Which rows `readEntity` reads: every column named must equal the value, or
 * be one of the values of a list. Column names must be the table's own.
 */
export type Match = { readonly [column: string]: string | readonly string[] };

/** Reads rows of one entity (all, or those matching `match`) as the model holds them. */
export async function readEntity(db: Queryable, schema: string, entity: Entity, match: Match = {}): Promise<Record<string, unknown>> {
  const table = TABLE_SPECS[entity];
  const conditions: string[] = [];
  const values: unknown[] = [];
  for (const [column, value] of Object.entries(match)) {
    if (!table.columns.some(([, name]) => name === column)) throw new Error(`readEntity: ${table.table} has no column ${column}`);
    values.push(value);
    conditions.push(typeof value === 'string' ? `${q(column)} = $${values.length}` : `${q(column)} = any($${values.length}::text[])`);
  }
  const where = conditions.length === 0 ? '' : ` where ${conditions.join(' and ')}`;
  const { rows } = await db.query<Row>(`select ${selectList(table)} from ${q(schema)}.${q(table.table)}${where}`, values);
  const out: Record<string, unknown> = {};
  for (const dbRow of rows) {
    const row = fromDb(table, dbRow);
    out[table.key(row)] = entity === 'stats' ? row.fields : row;
  }
  return out;
}

const CHUNK = 5000;

/** One SQL statement with its parameters, ready to run on any connection. */
export interface Statement {
  readonly text: string;
  readonly values: unknown[];
}

/** The statements writing `rows`; each row is serialised as the generator reaches it. */
export function* insertStatements(
  schema: string,
  entity: Entity,
  rows: ReadonlyMap<string, unknown> | Record<string, unknown>,
  upsert: boolean,
  tableName = TABLE_SPECS[entity].table,
): Generator<Statement> {
  const table = TABLE_SPECS[entity];
  const entries = rows instanceof Map ? [...rows] : Object.entries(rows);
  if (entries.length === 0) return;
  const target = `${q(schema)}.${q(tableName)}`;
  const conflict = upsert
    ? ` on conflict (${table.keyColumns.join(', ')}) do update set ${table.columns
        .filter(([, column]) => !table.keyColumns.includes(column))
        .map(([, column]) => `${column} = excluded.${column}`)
        .join(', ')}`
    : '';
  // Rows travel as JSON keyed by the model's own field names, so most need no
  // copying before JSON.stringify; json_to_recordset types them.
  const columns = table.columns.map(([, column]) => column).join(', ');
  const fields = table.columns.map(([field, , type]) => `${q(field)} ${SQL_TYPES[type]}`).join(', ');
  const text = `insert into ${target} (${columns}) select * from json_to_recordset($1::json) as x(${fields})${conflict}`;
  for (let start = 0; start < entries.length; start += CHUNK) {
    const parts: string[] = [];
    for (let i = start; i < Math.min(entries.length, start + CHUNK); i += 1) {
      const [id, value] = entries[i]!;
      parts.push(JSON.stringify(entity === 'stats' ? { id, ...statsColumns(id), fields: value } : value));
    }
    yield { text, values: [`[${parts.join(',')}]`] };
  }
}

const SQL_TYPES: Record<ColumnType, string> = {
  text: 'text', int: 'int', float: 'float8', bigint: 'bigint', bool: 'boolean', ts: 'timestamptz', 'text[]': 'text[]', jsonb: 'jsonb',
};

/** Runs statements `parallel` at a time (each its own transaction when `db` is a pool), in order within a lane. */
export async function runStatements(db: Queryable, statements: Iterable<Statement>, parallel = 1): Promise<void> {
  const iterator = statements[Symbol.iterator]();
  const lane = async () => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) await db.query(next.value.text, next.value.values);
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}

export function deleteStatement(schema: string, entity: Entity, ids: readonly string[]): Statement | undefined {
  if (ids.length === 0) return undefined;
  const table = TABLE_SPECS[entity];
  const target = `${q(schema)}.${q(table.table)}`;
  if (entity === 'step' || entity === 'queue') {
    const firsts = ids.map((id) => id.slice(0, id.indexOf('/')));
    const seconds = ids.map((id) => id.slice(id.indexOf('/') + 1));
    return {
      text: `delete from ${target} t using unnest($1::text[], $2::text[]) as k(a, b)
              where t.${table.keyColumns[0]} = k.a and t.${table.keyColumns[1]} = k.b`,
      values: [firsts, seconds],
    };
  }
  return { text: `delete from ${target} where ${table.keyColumns[0]} = any($1::text[])`, values: [ids] };
}

export interface Checkpoint {
  readonly position: number;
  readonly version: number;
}

export async function readCheckpoint(db: Queryable, schema = PROJECTION_SCHEMA, forUpdate = false): Promise<Checkpoint> {
  const { rows } = await db.query<{ position: string; version: number }>(
    `select position, version from ${q(schema)}.checkpoint${forUpdate ? ' for update' : ''}`,
  );
  return { position: Number(rows[0]!.position), version: rows[0]!.version };
}

export async function writeCheckpoint(db: Queryable, schema: string, position: number, version?: number): Promise<void> {
  await db.query(
    `update ${q(schema)}.checkpoint set position = $1, version = coalesce($2, version)${version === undefined ? '' : ', rebuilt_at = now()'}`,
    [position, version ?? null],
  );
}

/** Reads a whole schema's tables into a model. */
export async function readModel(db: Queryable, schema = PROJECTION_SCHEMA): Promise<Model> {
  const model = {} as Record<keyof Model, unknown>;
  for (const entity of ENTITIES) model[MODEL_KEYS[entity]] = await readEntity(db, schema, entity);
  return model as Model;
}
