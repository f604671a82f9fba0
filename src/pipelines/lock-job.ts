import type pg from 'pg';
import { AppError } from '../ops/errors.js';
import type { PlanStep } from './definition.js';

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
