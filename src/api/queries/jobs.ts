// The read side of /api/jobs, in one place: the list and the detail read the
// read model (schema `projection`), whose rows the dashboard shows too. When
// finished jobs move to an archive, these two functions are where it is read.
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } from 'kysely';
import type pg from 'pg';
import { read } from '../../ledger/read.js';
import type { LedgerEvent } from '../../ledger/types.js';
import type { JobRow, StepRow } from '../../projections/model.js';
import { PROJECTION_SCHEMA, readCheckpoint, readEntity } from '../../projections/tables.js';
import { AppError } from '../../ops/errors.js';

/** The columns of projection.jobs a filter touches (kysely types the builder with them). */
interface JobsTable {
  id: string;
  pipeline: string | null;
  status: string;
  priority: string | null;
  created_at: Date | null;
  created_offset: string | null;
}
interface PipelineJobsTable {
  job_id: string;
  input: unknown;
}
interface Database {
  'projection.jobs': JobsTable;
  'pipelines.jobs': PipelineJobsTable;
}

// Kysely only builds the SQL here; pg runs it on the pool we already have.
const builder = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

export interface JobListFilter {
  readonly status?: readonly string[];
  readonly pipeline?: readonly string[];
  readonly priority?: readonly string[];
  readonly createdAfter?: string;
  readonly createdBefore?: string;
  /** Text the job's input (as JSON text) contains, case-insensitive. */
  readonly q?: string;
}

export interface JobPage {
  readonly data: JobRow[];
  /** Opaque: pass as `cursor` for the next page; null on the last page. */
  readonly next: string | null;
}

const JOB_COLUMNS = [
  'id', 'pipeline', 'status', 'priority', 'steps', 'current_steps', 'completed_steps', 'total_steps', 'progress', 'attempts',
  'input_bytes', 'output_bytes', 'created_at', 'started_at', 'finished_at', 'duration_ms', 'error', 'failed_step',
  'cancel_reason', 'created_offset', 'updated_offset',
] as const;

/** Jobs of the read model matching `filter`, newest first (by the position of their job.created), `limit` at a time. */
export async function listJobs(db: pg.Pool, filter: JobListFilter, page: { cursor?: string; limit: number }): Promise<JobPage> {
  let query = builder
    .selectFrom('projection.jobs as j')
    .select(JOB_COLUMNS.map((c) => sql.ref(`j.${c}`).as(c)) as never)
    .where('j.created_offset', 'is not', null);
  if (filter.status?.length) query = query.where('j.status', 'in', [...filter.status]);
  if (filter.pipeline?.length) query = query.where('j.pipeline', 'in', [...filter.pipeline]);
  if (filter.priority?.length) query = query.where('j.priority', 'in', [...filter.priority]);
  if (filter.createdAfter !== undefined) query = query.where('j.created_at', '>', new Date(filter.createdAfter));
  if (filter.createdBefore !== undefined) query = query.where('j.created_at', '<', new Date(filter.createdBefore));
  if (filter.q !== undefined) {
    const pattern = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('pipelines.jobs as p')
          .select(sql.lit(1).as('one'))
          .where(sql<boolean>`p.job_id::text = j.id and p.input::text ilike ${pattern}`),
      ),
    );
  }
  if (page.cursor !== undefined) query = query.where('j.created_offset', '<', String(decodeCursor(page.cursor)));
  const compiled = query.orderBy('j.created_offset', 'desc').limit(page.limit + 1).compile();
  const { rows } = await db.query<Record<string, unknown>>(compiled.sql, compiled.parameters as unknown[]);
  const more = rows.length > page.limit;
  const data = rows.slice(0, page.limit).map(toJobRow);
  return { data, next: more ? encodeCursor(data[data.length - 1]!.createdOffset!) : null };
}

export interface JobDetail {
  readonly job: JobRow;
  readonly steps: StepRow[];
  /** The job's ledger events, oldest first: what happened, when, where. */
  readonly timeline: { position: number; type: string; at: string; step?: string; attempt?: number; actor?: string }[];
  /** The read model's offset the job and steps are consistent with. */
  readonly offset: number;
}

/** One job of the read model with its steps and timeline; null when the read model does not hold it (yet). */
export async function getJob(db: pg.Pool, jobId: string): Promise<JobDetail | null> {
  const [{ position }, jobs, steps, events] = await Promise.all([
    readCheckpoint(db),
    readEntity(db, PROJECTION_SCHEMA, 'job', { id: jobId }),
    readEntity(db, PROJECTION_SCHEMA, 'step', { job_id: jobId }),
    jobEvents(db, jobId, 0, 10_000),
  ]);
  const job = Object.values(jobs)[0] as JobRow | undefined;
  if (!job) return null;
  const stepRows = Object.values(steps) as StepRow[];
  stepRows.sort((a, b) => job.steps.indexOf(a.step) - job.steps.indexOf(b.step));
  const timeline = events.map((e) => ({
    position: e.position,
    type: e.type,
    at: e.recordedAt,
    ...(typeof e.data.step === 'string' ? { step: e.data.step } : {}),
    ...(typeof e.data.attempt === 'number' ? { attempt: e.data.attempt } : {}),
    ...(typeof e.metadata.actor === 'string' ? { actor: e.metadata.actor } : {}),
  }));
  return { job, steps: stepRows, timeline, offset: position };
}

/** A job's ledger events after `after`, in position order. */
export const jobEvents = (db: pg.Pool, jobId: string, after: number, limit: number): Promise<LedgerEvent[]> =>
  read(db, { streamType: 'job', streamId: jobId, after, limit });

function toJobRow(row: Record<string, unknown>): JobRow {
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : null);
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: row.id as string,
    pipeline: row.pipeline as string | null,
    status: row.status as string,
    priority: row.priority as string | null,
    steps: row.steps as string[],
    currentSteps: row.current_steps as string[],
    completedSteps: Number(row.completed_steps),
    totalSteps: Number(row.total_steps),
    progress: Number(row.progress),
    attempts: Number(row.attempts),
    inputBytes: n(row.input_bytes),
    outputBytes: n(row.output_bytes),
    createdAt: iso(row.created_at),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    durationMs: n(row.duration_ms),
    error: row.error as string | null,
    failedStep: row.failed_step as string | null,
    cancelReason: row.cancel_reason as string | null,
    createdOffset: n(row.created_offset),
    updatedOffset: Number(row.updated_offset),
  };
}

// Cursors are opaque to clients ("o" + the position, base64url), so their
// content can change without breaking anyone.
export const encodeCursor = (offset: number): string => Buffer.from(`o${offset}`).toString('base64url');

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString();
  const offset = /^o(\d{1,18})$/.exec(text)?.[1];
  if (offset === undefined) throw new AppError(400, 'bad_request', 'cursor: not a cursor this API returned', { field: 'cursor' });
  return Number(offset);
}
