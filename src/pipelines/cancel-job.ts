import type pg from 'pg';
import { AppError } from '../ops/errors.js';
import type { PlanStep } from './definition.js';
import { stepJobKey } from './naming.js';
import { holdStepStarts } from './pause.js';
import { commitStep, eventsPayload } from './step-spec.js';
import { operatorMetadata, type OperatorOptions } from './operator.js';
import { withTransaction } from './transaction.js';
import { jobEvent } from './typed-event.js';

export interface CancelJobOptions extends OperatorOptions {
  /** (Default: "cancelled") */
  readonly reason?: string;
}

/**
 * Cancels a queued, running or dead-lettered job: appends `job.cancelled` and
 * removes its queued steps in one transaction. A step running at that moment
 * sees its AbortSignal fire (workers check running jobs a few times a second)
 * and its transaction is rolled back: its effects never commit.
 * Returns the position of `job.cancelled`.
 */
export async function cancelJob(pool: pg.Pool, jobId: string, options: CancelJobOptions = {}): Promise<{ position: number }> {
  const reason = options.reason ?? 'cancelled';
  return withTransaction(pool, async (client) => {
    await holdStepStarts(client);
    const job = await lockJob(client, jobId);
    if (job.state === 'completed' || job.state === 'cancelled') {
      throw new AppError(409, 'job_finished', `jobId: job ${jobId} is already ${job.state}`, { field: 'jobId' });
    }
    await client.query(`update pipelines.jobs set state = 'cancelled', finished_at = now() where job_id = $1`, [jobId]);
    await client.query('select graphile_worker.remove_job(k) from unnest($1::text[]) k', [job.plan.map((s) => stepJobKey(jobId, s.name))]);
    const metadata = operatorMetadata(options);
    const position = await commitStep(client, [], eventsPayload([jobEvent('job.cancelled', { jobId, pipeline: job.pipeline, reason }, metadata)]));
    return { position };
  });
}

export interface LockedJob {
  readonly state: string;
  readonly pipeline: string;
  readonly priority: 'high' | 'normal' | 'background';
  readonly plan: PlanStep[];
}

/** Locks a job row for the rest of the transaction; 404 when there is none. */
export async function lockJob(client: pg.PoolClient, jobId: string): Promise<LockedJob> {
  if (typeof jobId !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(jobId)) {
    throw new AppError(400, 'bad_request', 'jobId: must be a UUID', { field: 'jobId' });
  }
  const { rows } = await client.query<LockedJob>('select state, pipeline, priority, plan from pipelines.jobs where job_id = $1 for update', [jobId]);
  if (!rows[0]) throw new AppError(404, 'unknown_job', `jobId: no job ${jobId}`, { field: 'jobId' });
  return rows[0];
}
