// The zod schemas the routes validate with and the OpenAPI document is made
// of: one definition for both. Shared here; area-specific ones live with their routes.
import { z } from '@hono/zod-openapi';

export const PriorityEnum = z.enum(['high', 'normal', 'background']).openapi('Priority');
export const JobStatusEnum = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']).openapi('JobStatus');
export const QueueEnum = z.enum(['high', 'normal', 'background']).openapi('Queue');

export const FieldErrorSchema = z.object({ field: z.string(), reason: z.string() });
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:runledger:problem:invalid_request' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    field: z.string().optional(),
    errors: z.array(FieldErrorSchema),
    requestId: z.string().optional(),
  })
  .openapi('Problem');

const problem = (description: string) => ({ content: { 'application/problem+json': { schema: ProblemSchema } }, description });

/** The problem responses a route can give, for its OpenAPI entry. */
export function problems(...statuses: (400 | 401 | 403 | 404 | 409 | 413 | 422 | 429)[]) {
  const text: Record<number, string> = {
    400: 'Bad input: `errors` names every bad field',
    401: 'No valid token (WWW-Authenticate says how to send one)',
    403: 'A read-only token on a write',
    404: 'No such thing',
    409: 'Conflicts with the current state',
    413: 'Body larger than the limit',
    422: 'Well-formed but not acceptable (unknown pipeline, input failing its schema)',
    429: 'Too many writes from this address (Retry-After says when to come back)',
  };
  return Object.fromEntries([401, 429, ...statuses].map((s) => [s, problem(text[s]!)]));
}

/** application/json content of a schema, for responses and bodies. */
export const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });

/** Routes without query parameters still refuse unknown ones, naming them. */
export const NoQuery = z.object({}).strict();

export const JobIdParams = z.object({
  id: z.string().uuid('must be a UUID').openapi({ param: { name: 'id', in: 'path' }, example: '0b1e1d1c-6a4c-4f1e-9d1b-2b7e2f6a4c11' }),
});

/** A comma-separated list in a query parameter, each item checked against `item`. */
const csv = <T extends z.ZodTypeAny>(item: T, description: string) =>
  z
    .string()
    .transform((value, ctx) => {
      const out: z.infer<T>[] = [];
      for (const part of value.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
        const parsed = item.safeParse(part);
        if (!parsed.success) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${JSON.stringify(part)}: ${parsed.error.issues[0]!.message}` });
        else out.push(parsed.data);
      }
      return out;
    })
    .openapi({ description, type: 'string' });

const isoTime = z.string().datetime({ offset: true, message: 'must be an ISO-8601 time such as 2026-01-31T12:00:00Z' });

/** Filters of GET /api/jobs (read model); comma-separated lists match any of their items. */
export const JobFilterQuery = {
  status: csv(JobStatusEnum, 'Job statuses, comma-separated').optional(),
  pipeline: csv(z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a pipeline name'), 'Pipeline names, comma-separated').optional(),
  priority: csv(PriorityEnum, 'Priorities, comma-separated').optional(),
  createdAfter: isoTime.optional(),
  createdBefore: isoTime.optional(),
  q: z.string().min(1).max(200).optional().openapi({ description: 'Text the job input contains (case-insensitive)' }),
};

export const PageQuery = {
  cursor: z.string().max(200).optional().openapi({ description: 'The `next` of the previous page' }),
  limit: z.coerce.number().int('must be a whole number').min(1).max(500).default(50).openapi({ type: 'integer', description: '1..500 (default 50)' }),
};

/** A filter in a JSON body (bulk actions, dead-letter retry). */
export const JobFilterBody = z
  .object({
    status: z.array(JobStatusEnum).optional(),
    pipeline: z.array(z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a pipeline name')).optional(),
    priority: z.array(PriorityEnum).optional(),
    createdAfter: isoTime.optional(),
    createdBefore: isoTime.optional(),
    q: z.string().min(1).max(200).optional(),
    jobIds: z.array(z.string().uuid('must be a UUID')).max(10_000).optional(),
    failedStep: z.string().max(100).optional(),
  })
  .strict()
  .openapi('JobFilter');

export const ReasonBody = z.object({ reason: z.string().min(1).max(500).optional() }).strict();

export const PositionResponse = z.object({ position: z.number().int().openapi({ description: 'Ledger position of the event the action appended' }) });

export const JobRowSchema = z
  .object({
    id: z.string(),
    pipeline: z.string().nullable(),
    status: z.string(),
    priority: z.string().nullable(),
    steps: z.array(z.string()),
    currentSteps: z.array(z.string()),
    completedSteps: z.number(),
    totalSteps: z.number(),
    progress: z.number(),
    attempts: z.number(),
    inputBytes: z.number().nullable(),
    outputBytes: z.number().nullable(),
    createdAt: z.string().nullable(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    durationMs: z.number().nullable(),
    error: z.string().nullable(),
    failedStep: z.string().nullable(),
    cancelReason: z.string().nullable(),
    createdOffset: z.number().nullable(),
    updatedOffset: z.number(),
  })
  .openapi('Job');

export const LedgerEventSchema = z
  .object({
    position: z.number(),
    streamType: z.string(),
    streamId: z.string(),
    streamVersion: z.number(),
    type: z.string(),
    data: z.record(z.unknown()),
    metadata: z.record(z.unknown()),
    recordedAt: z.string(),
  })
  .openapi('LedgerEvent');
