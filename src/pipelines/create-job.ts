import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { AppError } from '../ops/errors.js';
import type { Pipeline, PlanStep } from './definition.js';
import type { Priority } from '../events/catalogue.js';
import { getPipeline } from './registry.js';
import { operatorMetadata, type OperatorOptions } from './operator.js';
import { appendWithJobs, eventsPayload } from './append-with-jobs.js';
import { queueStep, type JobSpec } from './step-spec.js';
import { appendTimer } from '../ops/metrics/append-timer.js';
import { jobEvent, jsonBytes } from '../events/new-event.js';

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
 * and appends `job.created` and `step.queued`.
 */
export async function createJob(
  pool: pg.Pool,
  pipelineName: string,
  input: unknown,
  options: CreateJobOptions = {},
): Promise<CreatedJob> {
  const prepared = prepareJob(pipelineName, input, options);
  const client = await pool.connect();
  try {
    return await insertJobAndCommit(client, prepared, true);
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** A job checked and planned, ready for `insertJob`. */
export interface PreparedJob {
  readonly jobId: string;
  readonly pipeline: string;
  readonly priority: Priority;
  readonly input: unknown;
  readonly plan: PlanStep[];
  readonly specs: JobSpec[];
  readonly payload: string;
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
  return { jobId, pipeline: pipeline.name, priority, input: parsed.data, plan, specs: queued.map((q) => q.spec), payload };
}

/**
 * Writes a prepared job and commits, in one round trip (simple query
 * protocol, values as escaped literals): `begin` (unless the caller's
 * transaction is open already), the job row, the step jobs and the append,
 * `commit`, then the position read. The events are sealed by that COMMIT,
 * so the ledger's lock is held for the commit only, never while a reply
 * travels back to this process. On error the caller rolls back.
 */
export async function insertJobAndCommit(client: pg.PoolClient, job: PreparedJob, begin: boolean): Promise<CreatedJob> {
  const lit = (value: string) => client.escapeLiteral(value);
  const sql =
    `${begin ? 'begin; ' : ''}insert into pipelines.jobs (job_id, pipeline, priority, input, plan) values ` +
    `(${lit(job.jobId)}, ${lit(job.pipeline)}, ${lit(job.priority)}, ${lit(JSON.stringify(job.input))}, ${lit(JSON.stringify(job.plan))}); ` +
    `select pipelines.commit_step(${lit(JSON.stringify(job.specs))}::json, ${lit(job.payload)}::jsonb, true); commit; ` +
    'select ledger.sealed_first_position() as position';
  const done = appendTimer('create_job');
  const results = (await client.query(sql).finally(done)) as unknown as pg.QueryResult<{ position: string }>[];
  return { jobId: job.jobId, position: Number(results.at(-1)!.rows[0]!.position) };
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
