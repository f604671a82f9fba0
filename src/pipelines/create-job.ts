import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { AppError } from '../ops/errors.js';
import type { Pipeline, PlanStep } from './definition.js';
import type { Priority } from '../events/catalogue.js';
import { getPipeline } from './registry.js';
import { appendWithJobs, eventsPayload } from './append-with-jobs.js';
import { queueStep } from './step-spec.js';
import { jobEvent, jsonBytes } from '../events/new-event.js';
import { withTransaction } from '../ops/transaction.js';

export interface CreateJobOptions {
  /** (Default: the pipeline's priority) */
  readonly priority?: Priority;
  /** Recorded as the events' metadata.actor. */
  readonly actor?: string;
  /** Largest event, bytes (config.maxEventBytes, RUNLEDGER_MAX_EVENT_BYTES): a larger input is refused. (Default: 262144) */
  readonly maxEventBytes?: number;
}

export interface CreatedJob {
  readonly jobId: string;
  /** Ledger position of its `job.created` event. */
  readonly position: number;
}

/**
 * Creates a job: checks the input against the pipeline's schema, then in one
 * transaction writes the job row, queues its first steps on graphile-worker
 * and appends `job.created` and `step.queued`.
 */
export async function createJob(
  pool: pg.Pool,
  pipelineName: string,
  input: unknown,
  options: CreateJobOptions = {},
): Promise<CreatedJob> {
  const pipeline = getPipeline(pipelineName);
  const parsed = pipeline.input.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = ['input', ...issue.path].join('.');
    throw new AppError(400, 'invalid_input', `${field}: ${issue.message}`, { field });
  }
  const priority = options.priority ?? pipeline.priority;
  if (!['high', 'normal', 'background'].includes(priority)) {
    throw new AppError(400, 'bad_request', 'priority: must be high, normal or background', { field: 'priority' });
  }
  const jobId = randomUUID();
  const metadata = options.actor === undefined ? undefined : { actor: options.actor };
  const plan = planOf(pipeline);
  const inputBytes = jsonBytes(parsed.data);
  const now = new Date();
  const queued = pipeline.roots.map((root) =>
    queueStep({
      jobId,
      pipeline: pipeline.name,
      jobPriority: priority,
      step: plan.find((step) => step.name === root)!,
      attempt: 1,
      runAt: now,
      inputsFrom: [],
      inputBytes,
    }),
  );
  const events = [
    jobEvent('job.created', { jobId, pipeline: pipeline.name, input: parsed.data, inputBytes, priority, steps: plan.map((s) => s.name) }, metadata),
    ...queued.map((q) => q.event),
  ];
  const payload = eventsPayload(events, options.maxEventBytes);
  return withTransaction(pool, async (client) => {
    await client.query(
      `insert into pipelines.jobs (job_id, pipeline, priority, input, plan) values ($1, $2, $3, $4, $5)`,
      [jobId, pipeline.name, priority, JSON.stringify(parsed.data), JSON.stringify(plan)],
    );
    const position = await appendWithJobs(client, queued.map((q) => q.spec), payload);
    return { jobId, position };
  });
}

export const planOf = (pipeline: Pipeline): PlanStep[] =>
  pipeline.steps.map((step) => ({ name: step.name, needs: step.needs, priority: step.priority ?? null, maxAttempts: step.maxAttempts }));
