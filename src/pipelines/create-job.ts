import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { AppError } from '../ops/errors.js';
import type { Pipeline, PlanStep } from './definition.js';
import type { Priority } from '../events/catalogue.js';
import { getPipeline } from './registry.js';
import { operatorMetadata, type OperatorOptions } from './operator.js';
import { appendWithJobs, eventsPayload } from './append-with-jobs.js';
import { queueStep, type JobSpec } from './step-spec.js';
import { jobEvent, jsonBytes } from '../events/new-event.js';
import { jobsTogether } from './create-jobs-together.js';

export interface CreateJobOptions extends OperatorOptions {
  /** (Default: the pipeline's priority) */
  readonly priority?: Priority;
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
 * and appends `job.created` and `step.queued`. Concurrent calls on one pool
 * share that transaction (create-jobs-together.ts).
 */
export async function createJob(
  pool: pg.Pool,
  pipelineName: string,
  input: unknown,
  options: CreateJobOptions = {},
): Promise<CreatedJob> {
  return jobsTogether(pool)(prepareJob(pipelineName, input, options));
}

/** A job checked and planned, ready for `insertJob`. */
export interface PreparedJob {
  readonly jobId: string;
  readonly pipeline: string;
  readonly priority: Priority;
  readonly input: unknown;
  readonly plan: PlanStep[];
  readonly specs: JobSpec[];
  /** The events, a JSON array as ledger.append takes it: `job.created` first. */
  readonly payload: string;
  readonly eventCount: number;
}

/** Checks the input against the pipeline's schema and builds the job's first events and step jobs; writes nothing. */
export function prepareJob(pipelineName: string, input: unknown, options: CreateJobOptions = {}): PreparedJob {
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
  const metadata = operatorMetadata(options);
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
  return { jobId, pipeline: pipeline.name, priority, input: parsed.data, plan, specs: queued.map((q) => q.spec), payload, eventCount: events.length };
}

/** Writes a prepared job inside the caller's open transaction; the append is its last statement. */
export async function insertJob(client: pg.PoolClient, job: PreparedJob): Promise<CreatedJob> {
  await client.query(`insert into pipelines.jobs (job_id, pipeline, priority, input, plan) values ($1, $2, $3, $4, $5)`, [
    job.jobId,
    job.pipeline,
    job.priority,
    JSON.stringify(job.input),
    JSON.stringify(job.plan),
  ]);
  const position = await appendWithJobs(client, job.specs, job.payload);
  return { jobId: job.jobId, position };
}

export const planOf = (pipeline: Pipeline): PlanStep[] =>
  pipeline.steps.map((step) => ({ name: step.name, needs: step.needs, priority: step.priority ?? null, maxAttempts: step.maxAttempts }));
