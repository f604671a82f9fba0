// The dead-letter list: failed jobs of pipelines.jobs (the state retry acts
// on), newest failure first. One place, so an archive can be added here.
import type pg from 'pg';
import { AppError } from '../../ops/errors.js';

export interface DeadLetterFilter {
  readonly pipeline?: readonly string[];
  readonly failedStep?: string;
  readonly failedAfter?: string;
  readonly failedBefore?: string;
  readonly q?: string;
}

export interface DeadLetterRow {
  readonly jobId: string;
  readonly pipeline: string;
  readonly priority: string;
  readonly failedStep: string | null;
  readonly error: string | null;
  readonly createdAt: string;
  readonly failedAt: string;
}

export async function listDeadLetterPage(
  db: pg.Pool,
  filter: DeadLetterFilter,
  page: { cursor?: string; limit: number },
): Promise<{ data: DeadLetterRow[]; next: string | null }> {
  const where = [`state = 'failed'`];
  const values: unknown[] = [];
  const add = (condition: (n: number) => string, value: unknown) => {
    values.push(value);
    where.push(condition(values.length));
  };
  if (filter.pipeline?.length) add((n) => `pipeline = any($${n}::text[])`, filter.pipeline);
  if (filter.failedStep !== undefined) add((n) => `failed_step = $${n}`, filter.failedStep);
  if (filter.failedAfter !== undefined) add((n) => `finished_at > $${n}`, new Date(filter.failedAfter));
  if (filter.failedBefore !== undefined) add((n) => `finished_at < $${n}`, new Date(filter.failedBefore));
  if (filter.q !== undefined) add((n) => `input::text ilike $${n}`, `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (page.cursor !== undefined) {
    const { at, id } = decode(page.cursor);
    values.push(at, id);
    where.push(`(finished_at, job_id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
  }
  values.push(page.limit + 1);
  const { rows } = await db.query<{
    job_id: string;
    pipeline: string;
    priority: string;
    failed_step: string | null;
    error: string | null;
    created_at: Date;
    finished_at: Date;
    at: string;
  }>(
    `select job_id, pipeline, priority, failed_step, error, created_at, finished_at,
            to_char(finished_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at
       from pipelines.jobs where ${where.join(' and ')}
      order by finished_at desc, job_id desc limit $${values.length}`,
    values,
  );
  const more = rows.length > page.limit;
  const kept = rows.slice(0, page.limit);
  const last = kept[kept.length - 1];
  return {
    data: kept.map((r) => ({
      jobId: r.job_id,
      pipeline: r.pipeline,
      priority: r.priority,
      failedStep: r.failed_step,
      error: r.error,
      createdAt: r.created_at.toISOString(),
      failedAt: r.finished_at.toISOString(),
    })),
    // Microseconds in the cursor: JavaScript dates would lose them and repeat rows.
    next: more && last ? Buffer.from(JSON.stringify({ at: last.at, id: last.job_id })).toString('base64url') : null,
  };
}

function decode(cursor: string): { at: string; id: string } {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { at?: unknown; id?: unknown };
    if (typeof value.at === 'string' && typeof value.id === 'string' && /^[0-9a-f-]{36}$/.test(value.id) && !Number.isNaN(Date.parse(value.at))) {
      return { at: value.at, id: value.id };
    }
  } catch {
    // fall through
  }
  throw new AppError(400, 'bad_request', 'cursor: not a cursor this API returned', { field: 'cursor' });
}
