import type pg from 'pg';
import { validateEvents } from '../ledger/validate.js';
import type { NewEvent, Queryable } from '../ledger/types.js';
import type { PlanStep } from './definition.js';
import { QUEUES, type Priority } from './events.js';
import { GRAPHILE_MAX_ATTEMPTS, PRIORITY_NUMBER, pipelineFlag, stepJobKey, stepTask, type StepPayload } from './naming.js';
import { appendTimer } from '../ops/metrics/append-timer.js';
import { jobEvent } from './typed-event.js';

/** graphile_worker.job_spec for one step job, as JSON for pipelines.commit_step / add_jobs. */
export interface JobSpec {
  readonly identifier: string;
  readonly payload: StepPayload;
  readonly run_at: string;
  readonly max_attempts: number;
  readonly job_key: string;
  readonly priority: number;
  readonly flags: string[];
}

export interface QueueStepOptions {
  readonly jobId: string;
  readonly pipeline: string;
  readonly jobPriority: Priority;
  readonly step: PlanStep;
  readonly attempt: number;
  readonly runAt: Date;
  readonly inputsFrom: readonly { step: string; bytes: number }[];
  readonly inputBytes: number;
}

/** The graphile-worker job and the `step.queued` event for one step. */
export function queueStep(options: QueueStepOptions): { spec: JobSpec; event: NewEvent } {
  const priority = options.step.priority ?? options.jobPriority;
  const queue = QUEUES[priority];
  const runAt = options.runAt.toISOString();
  return {
    spec: {
      identifier: stepTask(options.pipeline),
      payload: { jobId: options.jobId, step: options.step.name, attempt: options.attempt, queue },
      run_at: runAt,
      max_attempts: GRAPHILE_MAX_ATTEMPTS,
      job_key: stepJobKey(options.jobId, options.step.name),
      priority: PRIORITY_NUMBER[priority],
      flags: [pipelineFlag(options.pipeline)],
    },
    event: jobEvent('step.queued', {
      jobId: options.jobId,
      pipeline: options.pipeline,
      step: options.step.name,
      attempt: options.attempt,
      queue,
      priority,
      runAt,
      inputsFrom: options.inputsFrom,
      inputBytes: options.inputBytes,
    }),
  };
}

/** The JSON array `ledger.append()` takes, checked like `append()` checks it. */
export const eventsPayload = (events: readonly NewEvent[]): string => (events.length === 0 ? '[]' : validateEvents(events, 256 * 1024));

/**
 * The last statement of a transaction that queues steps: add_jobs, then the
 * append (the ledger lock is held from there to COMMIT). Returns the position
 * of the first event.
 */
export async function commitStep(client: Queryable, specs: readonly JobSpec[], eventsJson: string): Promise<number> {
  const done = appendTimer('commit_step');
  const { rows } = await client
    .query<{ position: string }>('select pipelines.commit_step($1::json, $2::jsonb) as position', [JSON.stringify(specs), eventsJson])
    .finally(done);
  return Number(rows[0]!.position);
}

/** The job spec that delivers `payload` again, as it is, due now. */
export function redeliverySpec(pipeline: string, payload: StepPayload): JobSpec {
  const priority = (Object.keys(QUEUES) as Priority[]).find((p) => QUEUES[p] === payload.queue) ?? 'normal';
  return {
    identifier: stepTask(pipeline),
    payload,
    run_at: new Date().toISOString(),
    max_attempts: GRAPHILE_MAX_ATTEMPTS,
    job_key: stepJobKey(payload.jobId, payload.step),
    priority: PRIORITY_NUMBER[priority],
    flags: [pipelineFlag(pipeline)],
  };
}

/**
 * `commitStep` and COMMIT in one round trip (simple query protocol, values
 * inlined as escaped literals): the ledger lock taken by the append is then
 * held only for the commit itself, not also for a trip back to this process,
 * whose event loop may be busy with other steps.
 */
export async function commitStepAndCommit(client: pg.PoolClient, specs: readonly JobSpec[], eventsJson: string): Promise<void> {
  const specsLiteral = client.escapeLiteral(JSON.stringify(specs));
  const eventsLiteral = client.escapeLiteral(eventsJson);
  const done = appendTimer('commit_step_and_commit');
  await client.query(`select pipelines.commit_step(${specsLiteral}::json, ${eventsLiteral}::jsonb); commit`).finally(done);
}
