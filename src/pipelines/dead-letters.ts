import type { Queryable } from '../ledger/types.js';

export interface DeadLetter {
  readonly jobId: string;
  readonly pipeline: string;
  readonly failedStep: string;
  readonly error: string;
  readonly createdAt: string;
  readonly failedAt: string;
}

/** Jobs that failed on their last attempt, newest first: retry them with `retryJob`. */
export async function listDeadLetters(db: Queryable, options: { limit?: number; pipeline?: string } = {}): Promise<DeadLetter[]> {
  const { rows } = await db.query<{ job_id: string; pipeline: string; failed_step: string; error: string; created_at: Date; finished_at: Date }>(
    `select job_id, pipeline, failed_step, error, created_at, finished_at from pipelines.jobs
      where state = 'failed' and ($1::text is null or pipeline = $1)
      order by finished_at desc limit $2`,
    [options.pipeline ?? null, options.limit ?? 100],
  );
  return rows.map((row) => ({
    jobId: row.job_id,
    pipeline: row.pipeline,
    failedStep: row.failed_step,
    error: row.error,
    createdAt: row.created_at.toISOString(),
    failedAt: row.finished_at.toISOString(),
  }));
}
