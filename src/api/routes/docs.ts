import type { ApiApp } from '../app.js';
import { renderReference } from '../reference-page.js';

const INFO = {
  openapi: '3.1.0',
  info: {
    title: 'runledger operators API',
    version: '1',
    description:
      'Create, inspect, retry, cancel, pause and throttle. Every write is a ledger event naming its actor (the token name), reason and request id. ' +
      'Errors are application/problem+json (RFC 9457) with `errors: [{field, reason}]`.',
  },
  security: [{ bearer: [] }],
};

/** GET /api/openapi.json (generated from the routes' zod schemas) and GET /api/docs (rendered from it, no CDN). */
export function docsRoutes(app: ApiApp): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/api/stream',
    tags: ['stream'],
    summary: 'The live stream as server-sent events (?from=N, filters, ?ticket=)',
    responses: { 200: { description: 'text/event-stream of the same frames the WebSocket sends' } },
  });
  app.doc31('/api/openapi.json', INFO);
  let page: string | undefined;
  app.get('/api/docs', (c) => {
    // Routes are all registered before the first request: render once.
    page ??= renderReference(app.getOpenAPI31Document(INFO) as unknown as Record<string, unknown>);
    return c.html(page);
  });
}
