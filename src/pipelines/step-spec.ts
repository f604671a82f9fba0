import type { NewEvent } from '../ledger/types.js';
import type { PlanStep } from './definition.js';
import { QUEUES, type Priority } from '../events/catalogue.js';
import { GRAPHILE_MAX_ATTEMPTS, PRIORITY_NUMBER, pipelineFlag, stepJobKey, stepTask, type StepPayload } from './naming.js';
import { jobEvent } from '../events/new-event.js';

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
