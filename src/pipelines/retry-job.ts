import type pg from 'pg';
import { operatorMetadata, type OperatorOptions } from './operator.js';
import { AppError } from '../ops/errors.js';
import { lockJob } from './lock-job.js';
import { appendWithJobs, eventsPayload } from './append-with-jobs.js';
import { queueStep } from './step-spec.js';
import { withTransaction } from '../ops/transaction.js';
import { jobEvent } from '../events/new-event.js';

/**
 * Sends a dead-lettered (failed) job back to work: every step that has not
 * completed and whose needs have is queued again from attempt 1, and
 * `job.retried` names them. Completed steps keep their results.
 * Returns the position of `job.retried`.
 */
export async function retryJob(pool: pg.Pool, jobId: string, options: OperatorOptions = {}): Promise<{ position: number; steps: string[] }> {
  return withTransaction(pool, async (client) => {
    const job = await lockJob(client, jobId);
    if (job.state !== 'failed') {
      throw new AppError(409, 'job_not_failed', `jobId: job ${jobId} is ${job.state}; only failed jobs can be retried`, { field: 'jobId' });
    }
    // Archived is final (docs/projections.md): the read model no longer holds the job to continue it.
    const { rowCount: archived } = await client.query(
      `select 1 from ledger.events where stream_type = 'job' and stream_id = $1 and type = 'job.archived' limit 1`,
      [jobId],
    );
    if (archived) {
      throw new AppError(409, 'job_archived', `jobId: job ${jobId} was archived by the retention task; create a new job instead`, { field: 'jobId' });
    }
    const { rows } = await client.query<{ step: string; output_bytes: number }>(
      'select step, output_bytes from pipelines.step_runs where job_id = $1',
      [jobId],
    );
    const done = new Map(rows.map((row) => [row.step, row.output_bytes]));
    const ready = job.plan.filter((step) => !done.has(step.name) && step.needs.every((need) => done.has(need)));
    const now = new Date();
    const queued = ready.map((step) => {
      const inputsFrom = step.needs.map((need) => ({ step: need, bytes: done.get(need) ?? 0 }));
      return queueStep({
        jobId,
        pipeline: job.pipeline,
        jobPriority: job.priority,
        step,
        attempt: 1,
        runAt: now,
        inputsFrom,
        inputBytes: inputsFrom.reduce((sum, from) => sum + from.bytes, 0),
      });
    });
    await client.query(
      `update pipelines.jobs set state = 'running', failed_step = null, error = null, finished_at = null where job_id = $1`,
      [jobId],
    );
    const steps = ready.map((step) => step.name);
    const metadata = operatorMetadata(options);
    const events = [jobEvent('job.retried', { jobId, pipeline: job.pipeline, steps }, metadata), ...queued.map((q) => q.event)];
    const position = await appendWithJobs(client, queued.map((q) => q.spec), eventsPayload(events));
    return { position, steps };
  });
}
