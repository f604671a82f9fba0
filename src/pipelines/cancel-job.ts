import type pg from 'pg';
import { AppError } from '../ops/errors.js';
import { stepJobKey } from './naming.js';
import { lockJob } from './lock-job.js';
import { holdStepStarts } from './pause.js';
import { operatorMetadata, type OperatorOptions } from './operator.js';
import { appendWithJobs, eventsPayload } from './append-with-jobs.js';
import { withTransaction } from '../ops/transaction.js';
import { jobEvent } from '../events/new-event.js';

export interface CancelJobOptions extends OperatorOptions {
  /** (Default: "cancelled") */
  readonly reason?: string;
  /** Largest event, bytes (config.maxEventBytes). (Default: 262144) */
  readonly maxEventBytes?: number;
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
    const position = await appendWithJobs(client, [], eventsPayload([jobEvent('job.cancelled', { jobId, pipeline: job.pipeline, reason }, metadata)], options.maxEventBytes));
    return { position };
  });
}
