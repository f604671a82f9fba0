import { createRoute, z } from '@hono/zod-openapi';
import { AppError } from '../../ops/errors.js';
import { bulkAction } from '../../pipelines/bulk.js';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { listDeadLetterPage } from '../queries/dead-letters.js';
import { JobFilterBody, NoQuery, PageQuery, json, problems } from '../schemas.js';
import { operatorOf } from './operator.js';

const isoTime = z.string().datetime({ offset: true, message: 'must be an ISO-8601 time such as 2026-01-31T12:00:00Z' });
const DeadLetterSchema = z
  .object({
    jobId: z.string(),
    pipeline: z.string(),
    priority: z.string(),
    failedStep: z.string().nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
    failedAt: z.string(),
  })
  .openapi('DeadLetter');

const listRoute = createRoute({
  method: 'get',
  path: '/api/dead-letters',
  tags: ['dead letters'],
  summary: 'Failed jobs, newest failure first',
  request: {
    query: z
      .object({
        pipeline: z
          .string()
          .regex(/^[a-z][a-z0-9_]{0,62}(,[a-z][a-z0-9_]{0,62})*$/, 'must be pipeline names, comma-separated')
          .optional()
          .transform((v) => v?.split(',')),
        failedStep: z.string().max(100).optional(),
        failedAfter: isoTime.optional(),
        failedBefore: isoTime.optional(),
        q: z.string().min(1).max(200).optional(),
        ...PageQuery,
      })
      .strict(),
  },
  responses: { 200: json(z.object({ data: z.array(DeadLetterSchema), next: z.string().nullable() }), 'A page of dead letters'), ...problems(400) },
});

const RetryBody = z
  .object({
    jobIds: z.array(z.string().uuid('must be a UUID')).min(1).max(10_000).optional().openapi({ description: 'Retry these (one or a selection)' }),
    filter: JobFilterBody.optional().openapi({ description: 'Or every dead letter matching this' }),
    reason: z.string().min(1).max(500),
    dryRun: z.boolean().default(false),
  })
  .strict();

const retryRoute = createRoute({
  method: 'post',
  path: '/api/dead-letters/retry',
  tags: ['dead letters'],
  summary: 'Retry dead letters: by ids or by filter',
  request: { query: NoQuery, body: { content: { 'application/json': { schema: RetryBody } }, required: true } },
  responses: {
    200: json(z.object({ matched: z.number(), acted: z.number(), skipped: z.number(), asOf: z.number(), jobIds: z.array(z.string()), dryRun: z.boolean() }), 'What it retried'),
    ...problems(400, 403, 422),
  },
});

export function deadLetterRoutes(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(listRoute, async (c) => {
    const { cursor, limit, ...filter } = c.req.valid('query');
    return c.json(await listDeadLetterPage(db, filter, { cursor, limit }), 200);
  });

  app.openapi(retryRoute, async (c) => {
    const { jobIds, filter, reason, dryRun } = c.req.valid('json');
    if ((jobIds === undefined) === (filter === undefined)) {
      throw new AppError(400, 'bad_request', 'jobIds: give either jobIds or filter', { field: jobIds === undefined ? 'jobIds' : 'filter' });
    }
    const result = await bulkAction(db, 'retry', jobIds !== undefined ? { jobIds } : filter!, { ...operatorOf(c, reason), dryRun });
    const { action: _action, ...rest } = result;
    return c.json(rest, 200);
  });
}
