import { createRoute, z } from '@hono/zod-openapi';
import { readLines, selectLines } from '../../audit/event-lines.js';
import { exportBundle } from '../../audit/export.js';
import { AppError } from '../../ops/errors.js';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { problems } from '../schemas.js';
import { pullStream } from './pull-stream.js';

const position = z.coerce.number().int().min(0);
const time = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO-8601 time');

const EventsQuery = z
  .object({
    after: position.optional().openapi({ description: 'Events after this position (the cursor `next`)' }),
    limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({ description: 'Page size, ≤ 1,000 (ignored for NDJSON)' }),
    type: z
      .string()
      .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*|(\.[a-z][a-z0-9_]*))$/, 'must be an event type (job.created) or a family (job.*)')
      .optional(),
    stream_type: z.string().min(1).max(64).optional(),
    stream_id: z.string().min(1).max(200).optional(),
    job: z.string().min(1).max(200).optional().openapi({ description: 'The events of the stream job/<id>' }),
    from_time: time.optional().openapi({ description: 'recorded_at >= from_time' }),
    to_time: time.optional().openapi({ description: 'recorded_at < to_time' }),
  })
  .strict();

const StoredEventSchema = z
  .object({
    position: z.number().int(),
    stream_type: z.string(),
    stream_id: z.string(),
    stream_version: z.number().int(),
    type: z.string(),
    recorded_at: z.string().openapi({ description: 'UTC, microseconds: the text the hash formula uses' }),
    metadata: z.record(z.unknown()),
    data: z.record(z.unknown()),
    prev_hash: z.string().openapi({ description: 'hex' }),
    hash: z.string().openapi({ description: 'hex' }),
  })
  .openapi('StoredEvent');

const eventsRoute = createRoute({
  method: 'get',
  path: '/api/events',
  tags: ['auditors'],
  summary: 'The ledger in position order, filtered; every stored column',
  description:
    'A page `{data, next}` (pass `next` as `after`; null after the last page). With `Accept: application/x-ndjson` the whole ' +
    'selection is streamed, one event per line, at the pace the client reads. See docs/auditing.md.',
  request: { query: EventsQuery },
  responses: {
    200: {
      content: {
        'application/json': { schema: z.object({ data: z.array(StoredEventSchema), next: z.number().int().nullable() }) },
        'application/x-ndjson': { schema: z.string().openapi({ description: 'One StoredEvent per line' }) },
      },
      description: 'Events',
    },
    ...problems(400),
  },
});

const exportRoute = createRoute({
  method: 'get',
  path: '/api/events/export',
  tags: ['auditors'],
  summary: 'An export bundle: the chain anchor before `from`, then every event to `to` (NDJSON)',
  description: 'Verify it with no database: `runledger verify --file ledger.ndjson [--expect-head HASH]`.',
  request: {
    query: z.object({ from: z.coerce.number().int().min(1).optional(), to: position.optional() }).strict(),
  },
  responses: {
    200: { content: { 'application/x-ndjson': { schema: z.string() } }, description: 'The bundle' },
    ...problems(400),
  },
});

/** The ledger for auditors (src/audit/event-lines.ts renders each event in PostgreSQL, so data keeps every digit). */
export function eventsRoutes(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(eventsRoute, async (c) => {
    const query = c.req.valid('query');
    const selection = {
      after: query.after,
      type: query.type,
      streamType: query.stream_type,
      streamId: query.stream_id,
      job: query.job,
      fromTime: query.from_time,
      toTime: query.to_time,
    };
    if ((c.req.header('accept') ?? '').includes('application/x-ndjson')) {
      return c.body(pullStream(selectLines(db, selection)), 200, { 'content-type': 'application/x-ndjson' }) as never;
    }
    const page = await readLines(db, selection, query.after ?? 0, query.limit);
    const next = page.lines.length === query.limit ? page.last! : null;
    // The lines are JSON already: joined, not re-serialised, so numbers keep PostgreSQL's digits.
    return c.body(`{"data":[${page.lines.join(',')}],"next":${next}}`, 200, { 'content-type': 'application/json' }) as never;
  });
  app.openapi(exportRoute, async (c) => {
    let lines: AsyncGenerator<string>;
    try {
      lines = await exportBundle(db, c.req.valid('query'));
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      const field = error.message.slice(0, error.message.indexOf(':'));
      throw new AppError(400, 'bad_request', error.message, { field });
    }
    return c.body(pullStream(lines), 200, {
      'content-type': 'application/x-ndjson',
      'content-disposition': 'attachment; filename="ledger.ndjson"',
    }) as never;
  });
}
