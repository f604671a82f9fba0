import type pg from 'pg';
import { AppError } from '../ops/errors.js';
import { cancelJob } from './cancel-job.js';
import type { OperatorOptions } from './operator.js';
import { retryJob } from './retry-job.js';

/** Which jobs (pipelines.jobs, the state the actions lock and change) a bulk action is about. */
export interface BulkFilter {
  readonly status?: readonly string[];
  readonly pipeline?: readonly string[];
  readonly priority?: readonly string[];
  readonly createdAfter?: string;
  readonly createdBefore?: string;
  /** Text the input (as JSON text) contains, case-insensitive. */
  readonly q?: string;
  readonly jobIds?: readonly string[];
  /** Dead letters: the step that failed. */
  readonly failedStep?: string;
}

export type BulkAction = 'retry' | 'cancel';

export interface BulkResult {
  readonly action: BulkAction;
  readonly dryRun: boolean;
  /** Jobs matching the filter when the action started (the ledger head then is `asOf`). */
  readonly matched: number;
  /** Jobs it acted on: each got one job.retried / job.cancelled. */
  readonly acted: number;
  /** Matched jobs another action changed in between (e.g. retried by someone else), left alone. */
  readonly skipped: number;
  /** The ledger head in the snapshot the matching was read from. */
  readonly asOf: number;
  /** Ids acted on (at most the first 1000). */
  readonly jobIds: string[];
}

// The states each action applies to: only failed jobs can be retried,
// finished ones cannot be cancelled.
const ACTIONABLE: Record<BulkAction, string[]> = { retry: ['failed'], cancel: ['queued', 'running', 'failed'] };

/**
 * Retries or cancels every job matching `filter` when it starts: the matching
 * ids and the ledger head are read in one snapshot, then each job is acted on
 * in its own transaction (retryJob / cancelJob, with the operator's actor,
 * reason and request id). Jobs that start matching later are not touched; a
 * matched job changed by someone else meanwhile is skipped. A dry run only
 * counts. At most `limit` jobs (a larger match is refused: narrow the filter).
 */
export async function bulkAction(
  pool: pg.Pool,
  action: BulkAction,
  filter: BulkFilter,
  options: OperatorOptions & { dryRun?: boolean; limit?: number } = {},
): Promise<BulkResult> {
  const limit = options.limit ?? 10_000;
  const { ids, asOf } = await matchJobs(pool, action, filter, limit);
  if (options.dryRun) return { action, dryRun: true, matched: ids.length, acted: 0, skipped: 0, asOf, jobIds: [] };
  const acted: string[] = [];
  let skipped = 0;
  const operator = { actor: options.actor, reason: options.reason, requestId: options.requestId };
  let next = 0;
  // A few at a time: each is a short transaction of its own.
  await Promise.all(
    Array.from({ length: Math.min(4, ids.length) }, async () => {
      while (next < ids.length) {
        const jobId = ids[next++]!;
        try {
          if (action === 'retry') await retryJob(pool, jobId, operator);
          else await cancelJob(pool, jobId, operator);
          acted.push(jobId);
        } catch (error) {
          if (error instanceof AppError && (error.status === 409 || error.status === 404)) skipped++;
          else throw error;
        }
      }
    }),
  );
  return { action, dryRun: false, matched: ids.length, acted: acted.length, skipped, asOf, jobIds: acted.slice(0, 1000) };
}

async function matchJobs(pool: pg.Pool, action: BulkAction, filter: BulkFilter, limit: number): Promise<{ ids: string[]; asOf: number }> {
  const where: string[] = ['state = any($1::text[])'];
  const states = filter.status?.length ? ACTIONABLE[action].filter((s) => filter.status!.includes(s)) : ACTIONABLE[action];
  const values: unknown[] = [states];
  const add = (condition: (n: number) => string, value: unknown) => {
    values.push(value);
    where.push(condition(values.length));
  };
  if (filter.pipeline?.length) add((n) => `pipeline = any($${n}::text[])`, filter.pipeline);
  if (filter.priority?.length) add((n) => `priority = any($${n}::text[])`, filter.priority);
  if (filter.createdAfter !== undefined) add((n) => `created_at > $${n}`, new Date(filter.createdAfter));
  if (filter.createdBefore !== undefined) add((n) => `created_at < $${n}`, new Date(filter.createdBefore));
  if (filter.q !== undefined) add((n) => `input::text ilike $${n}`, `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (filter.jobIds !== undefined) add((n) => `job_id = any($${n}::uuid[])`, filter.jobIds);
  if (filter.failedStep !== undefined) add((n) => `failed_step = $${n}`, filter.failedStep);
  values.push(limit + 1);
  const client = await pool.connect();
  try {
    // One snapshot: the ids and the head agree (a job's state changes in the
    // transaction that appends the event saying so).
    await client.query('begin isolation level repeatable read read only');
    const headRow = await client.query<{ head: string | null }>('select max(last_position) as head from ledger.blocks');
    const { rows } = await client.query<{ job_id: string }>(
      `select job_id from pipelines.jobs where ${where.join(' and ')} order by created_at, job_id limit $${values.length}`,
      values,
    );
    await client.query('commit');
    if (rows.length > limit) {
      throw new AppError(422, 'too_many_jobs', `filter: matches more than ${limit} jobs; narrow it`, { field: 'filter' });
    }
    return { ids: rows.map((r) => r.job_id), asOf: Number(headRow.rows[0]!.head ?? 0) };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
