import type { Priority } from '../events/catalogue.js';

/** graphile-worker task identifier of a pipeline's steps: a worker only takes the pipelines it knows. */
export const stepTask = (pipeline: string) => `rl_step:${pipeline}`;

/** graphile-worker job key of one step of one job: the same step cannot be queued twice. */
export const stepJobKey = (jobId: string, step: string) => `rl:${jobId}:${step}`;

/** graphile-worker flag on every step job of a pipeline; forbidding it pauses the pipeline. */
export const pipelineFlag = (pipeline: string) => `p:${pipeline}`;

// graphile-worker runs numerically smaller priorities first. Its queue_name
// would run a queue's jobs one at a time, so priorities, not queue names,
// carry high / normal / background.
export const PRIORITY_NUMBER: Record<Priority, number> = { high: -10, normal: 0, background: 10 };

/** graphile-worker attempts per step job: only for re-runs after a crash; retries of failures are ours. */
export const GRAPHILE_MAX_ATTEMPTS = 10;

/** The payload of a step job. */
export interface StepPayload {
  readonly jobId: string;
  readonly step: string;
  readonly attempt: number;
  readonly queue: string;
}
