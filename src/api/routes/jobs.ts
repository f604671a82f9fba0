import { createRoute, z } from '@hono/zod-openapi';
import { AppError } from '../../ops/errors.js';
import { bulkAction } from '../../pipelines/bulk.js';
import { cancelJob } from '../../pipelines/cancel-job.js';
import { createJob } from '../../pipelines/create-job.js';
import { createJobOnce } from '../../pipelines/create-job-once.js';
import { findPipeline, listPipelines } from '../../pipelines/registry.js';
import { retryJob } from '../../pipelines/retry-job.js';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { getJob, jobEvents, listJobs } from '../queries/jobs.js';
import {
  JobFilterBody,
  JobFilterQuery,
  JobIdParams,
  JobRowSchema,
  NoQuery,
  LedgerEventSchema,
  PageQuery,
  PositionResponse,
  PriorityEnum,
  ReasonBody,
  json,
  problems,
} from '../schemas.js';
import { operatorOf } from './operator.js';

const CreateJobBody = z
  .object({
    pipeline: z.string().min(1).max(63).openapi({ example: 'video_clip' }),
    input: z.unknown().openapi({ description: "Checked against the pipeline's input schema", example: { url: 'https://example.com/v.mp4' } }),
    priority: PriorityEnum.optional(),
  })
  .strict()
  .openapi('CreateJob');
const CreatedJob = z.object({ id: z.string().uuid(), position: z.number().int() }).openapi('CreatedJob');
const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional()
    .openapi({ description: 'Repeat a POST safely: the same key and body answer 200 with the first answer' }),
});

const createJobRoute = createRoute({
  method: 'post',
  path: '/api/jobs',
  tags: ['jobs'],
  summary: 'Create a job',
  request: { headers: IdempotencyHeaders, query: NoQuery, body: { content: { 'application/json': { schema: CreateJobBody } }, required: true } },
  responses: {
    201: json(CreatedJob, 'Created: its job.created is at `position`'),
    200: json(CreatedJob, 'The Idempotency-Key was used before with this request: the first answer'),
    ...problems(400, 403, 409, 413, 422),
  },
});

const listJobsRoute = createRoute({
  method: 'get',
  path: '/api/jobs',
  tags: ['jobs'],
  summary: 'List jobs, newest first (read model)',
  request: { query: z.object({ ...JobFilterQuery, ...PageQuery }).strict() },
  responses: {
    200: json(z.object({ data: z.array(JobRowSchema), next: z.string().nullable() }).openapi('JobPage'), 'A page of jobs; `next` is the cursor of the next page'),
    ...problems(400),
  },
});

const JobDetailSchema = z
  .object({
    job: JobRowSchema,
    steps: z.array(z.record(z.unknown())),
    timeline: z.array(
      z.object({ position: z.number(), type: z.string(), at: z.string(), step: z.string().optional(), attempt: z.number().optional(), actor: z.string().optional() }),
    ),
    offset: z.number().openapi({ description: 'Read-model offset the job and steps are consistent with' }),
  })
  .openapi('JobDetail');

const getJobRoute = createRoute({
  method: 'get',
  path: '/api/jobs/{id}',
  tags: ['jobs'],
  summary: 'One job with its steps and timeline',
  request: { params: JobIdParams, query: NoQuery },
  responses: { 200: json(JobDetailSchema, 'The job'), ...problems(400, 404) },
});

const jobEventsRoute = createRoute({
  method: 'get',
  path: '/api/jobs/{id}/events',
  tags: ['jobs'],
  summary: "The job's ledger events with their positions",
  request: {
    params: JobIdParams,
    query: z
      .object({
        after: z.coerce.number().int('must be a whole number').min(0).default(0).openapi({ type: 'integer', description: 'Events after this position' }),
        limit: z.coerce.number().int('must be a whole number').min(1).max(1000).default(1000).openapi({ type: 'integer' }),
      })
      .strict(),
  },
  responses: { 200: json(z.object({ data: z.array(LedgerEventSchema) }), 'Events, oldest first'), ...problems(400, 404) },
});

const retryRoute = createRoute({
  method: 'post',
  path: '/api/jobs/{id}/retry',
  tags: ['jobs'],
  summary: 'Retry a failed (dead-lettered) job',
  request: { params: JobIdParams, query: NoQuery, body: { content: { 'application/json': { schema: ReasonBody } } } },
  responses: { 202: json(PositionResponse, 'job.retried appended'), ...problems(400, 403, 404, 409) },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/api/jobs/{id}/cancel',
  tags: ['jobs'],
  summary: 'Cancel a queued, running or failed job',
  request: { params: JobIdParams, query: NoQuery, body: { content: { 'application/json': { schema: ReasonBody } } } },
  responses: { 202: json(PositionResponse, 'job.cancelled appended'), ...problems(400, 403, 404, 409) },
});

const BulkBody = z
  .object({
    action: z.enum(['retry', 'cancel']),
    filter: JobFilterBody,
    reason: z.string().min(1).max(500),
    dryRun: z.boolean().default(false),
  })
  .strict()
  .openapi('BulkAction');
const BulkResultSchema = z
  .object({
    action: z.enum(['retry', 'cancel']),
    dryRun: z.boolean(),
    matched: z.number().openapi({ description: 'Jobs matching when it started' }),
    acted: z.number(),
    skipped: z.number(),
    asOf: z.number().openapi({ description: 'Ledger head in the snapshot the matching was read from' }),
    jobIds: z.array(z.string()),
  })
  .openapi('BulkResult');

const bulkRoute = createRoute({
  method: 'post',
  path: '/api/jobs/bulk',
  tags: ['jobs'],
  summary: 'Retry or cancel every job matching a filter (dry run: count only)',
  request: { query: NoQuery, body: { content: { 'application/json': { schema: BulkBody } }, required: true } },
  responses: { 200: json(BulkResultSchema, 'What it matched and did'), ...problems(400, 403, 413, 422) },
});

export function jobRoutes(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(createJobRoute, async (c) => {
    const body = c.req.valid('json');
    const key = c.req.valid('header')['idempotency-key'];
    if (!findPipeline(body.pipeline)) {
      const known = listPipelines().map((p) => p.name).join(', ') || 'none';
      throw new AppError(422, 'unknown_pipeline', `pipeline: no pipeline named ${JSON.stringify(body.pipeline)} (known: ${known})`, { field: 'pipeline' });
    }
    const options = { ...operatorOf(c), ...(body.priority === undefined ? {} : { priority: body.priority }) };
    try {
      if (key === undefined) {
        const job = await createJob(db, body.pipeline, body.input, options);
        return c.json({ id: job.jobId, position: job.position }, 201);
      }
      const job = await createJobOnce(db, key, body.pipeline, body.input, options);
      return c.json({ id: job.jobId, position: job.position }, job.created ? 201 : 200);
    } catch (error) {
      // Well-formed, but the pipeline's schema refuses the input: 422.
      if (error instanceof AppError && error.code === 'invalid_input') throw new AppError(422, error.code, error.message, { field: error.field, cause: error });
      throw error;
    }
  });

  app.openapi(listJobsRoute, async (c) => {
    const { cursor, limit, ...filter } = c.req.valid('query');
    return c.json(await listJobs(db, filter, { cursor, limit }), 200);
  });

  app.openapi(getJobRoute, async (c) => {
    const { id } = c.req.valid('param');
    const detail = await getJob(db, id);
    if (!detail) throw new AppError(404, 'unknown_job', `id: no job ${id}`, { field: 'id' });
    return c.json(detail, 200);
  });

  app.openapi(jobEventsRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { after, limit } = c.req.valid('query');
    const events = await jobEvents(db, id, after, limit);
    if (events.length === 0 && after === 0) throw new AppError(404, 'unknown_job', `id: no job ${id}`, { field: 'id' });
    return c.json({ data: events }, 200);
  });

  app.openapi(retryRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { reason } = c.req.valid('json');
    const { position } = await jobAction(() => retryJob(db, id, operatorOf(c, reason)));
    return c.json({ position }, 202);
  });

  app.openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { reason } = c.req.valid('json');
    const { position } = await jobAction(() => cancelJob(db, id, { ...operatorOf(c, reason), reason: reason ?? `cancelled by ${c.get('principal').name}` }));
    return c.json({ position }, 202);
  });

  app.openapi(bulkRoute, async (c) => {
    const { action, filter, reason, dryRun } = c.req.valid('json');
    return c.json(await bulkAction(db, action, filter, { ...operatorOf(c, reason), dryRun }), 200);
  });
}

// The pipelines' functions name the job `jobId`; the API's path calls it `id`.
async function jobAction<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof AppError && error.field === 'jobId') {
      throw new AppError(error.status, error.code, error.message.replace(/^jobId: /, 'id: '), { field: 'id', cause: error });
    }
    throw error;
  }
}
