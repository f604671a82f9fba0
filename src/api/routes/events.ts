import { Hono } from 'hono';
import { z } from 'zod';
import { readLines, selectLines } from '../../audit/event-lines.js';
import { exportBundle } from '../../audit/export.js';
import type { Queryable } from '../../ledger/types.js';
import { AppError } from '../../ops/errors.js';
import { parseQuery, pullStream } from './audit-query.js';

const position = z.coerce.number().int().min(0);
const time = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO-8601 time');

export const EventsQuery = z.object({
  after: position.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  type: z
    .string()
    .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*|(\.[a-z][a-z0-9_]*))$/, 'must be an event type (job.created) or a family (job.*)')
    .optional(),
  stream_type: z.string().min(1).max(64).optional(),
  stream_id: z.string().min(1).max(200).optional(),
  job: z.string().min(1).max(200).optional(),
  from_time: time.optional(),
  to_time: time.optional(),
});

export const ExportQuery = z.object({
  from: z.coerce.number().int().min(1).optional(),
  to: position.optional(),
});

/**
 * The ledger for auditors. `GET /api/events`: a page of events, `{data, next}`
 * (next: the cursor for `after`, null when the page was the last); with
 * `Accept: application/x-ndjson`, the whole selection streamed one event per
 * line. `GET /api/events/export`: an export bundle (src/audit/export.ts).
 * Events are rendered by PostgreSQL (src/audit/event-lines.ts), so data keeps
 * every digit and the lines verify offline.
 */
export function eventsRoutes(deps: { readonly db: Queryable }): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const query = parseQuery(EventsQuery, c.req.query());
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
      return c.body(pullStream(selectLines(deps.db, selection)), 200, { 'content-type': 'application/x-ndjson' });
    }
    const page = await readLines(deps.db, selection, query.after ?? 0, query.limit);
    const next = page.lines.length === query.limit ? page.last! : null;
    return c.body(`{"data":[${page.lines.join(',')}],"next":${next}}`, 200, { 'content-type': 'application/json' });
  });
  app.get('/export', async (c) => {
    const query = parseQuery(ExportQuery, c.req.query());
    let lines: AsyncGenerator<string>;
    try {
      lines = await exportBundle(deps.db, query);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      const field = error.message.slice(0, error.message.indexOf(':'));
      throw new AppError(400, 'bad_request', error.message, { field });
    }
    return c.body(pullStream(lines), 200, {
      'content-type': 'application/x-ndjson',
      'content-disposition': 'attachment; filename="ledger.ndjson"',
    });
  });
  return app;
}
