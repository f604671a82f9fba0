import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { AppError } from '../ops/errors.js';
import { httpMetrics } from '../ops/metrics/http-metrics.js';
import { metrics } from '../ops/metrics/registry.js';
import { sseHandler } from '../stream/sse.js';
import type { ApiDeps } from './deps.js';
import { tokenAuth } from './middleware/token-auth.js';
import { errorHandler, problemOf, problemResponse } from './problem.js';
import { checkpointsRoutes } from './routes/checkpoints.js';
import { dashboardAt, dashboardDiffRoutes } from './routes/dashboard-at.js';
import { eventsRoutes } from './routes/events.js';

export type { ApiDeps } from './deps.js';

/** The HTTP API. Routes live in ./routes, one file per area, mounted here. */
export function createApp(deps: ApiDeps): Hono {
  const app = new Hono();
  app.onError(errorHandler(deps.logger));
  app.notFound((c) => problemResponse(c, problemOf(new AppError(404, 'not_found', `path: no route for ${c.req.method} ${c.req.path}`, { field: 'path' }))));
  app.use('*', httpMetrics(metrics));
  if (deps.ops) app.route('/', deps.ops);
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: deps.config.maxMessageBytes,
      onError: () => {
        throw new AppError(413, 'payload_too_large', `body: larger than ${deps.config.maxMessageBytes} bytes`, { field: 'body' });
      },
    }),
  );
  // Dashboards on other origins may read the stream; the token, not cookies, protects it.
  app.use('/api/stream', cors({ origin: '*', allowHeaders: ['authorization', 'last-event-id'], allowMethods: ['GET'] }));
  app.use('/api/*', tokenAuth({ token: deps.config.token }));
  app.get('/api/stream', sseHandler(deps));
  // Auditors (docs/auditing.md).
  app.route('/api/events', eventsRoutes(deps));
  app.route('/api/checkpoints', checkpointsRoutes(deps));
  app.use('/api/dashboard', dashboardAt(deps));
  app.route('/api/dashboard/diff', dashboardDiffRoutes(deps));
  return app;
}
