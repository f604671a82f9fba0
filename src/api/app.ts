import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { dashboardRoutes as dashboardPage } from '../dashboard/route.js';
import { AppError } from '../ops/errors.js';
import { httpMetrics } from '../ops/metrics/http-metrics.js';
import { metrics } from '../ops/metrics/registry.js';
import { sseHandler } from '../stream/sse.js';
import { createAuthenticator } from './auth/principal.js';
import type { ApiDeps } from './deps.js';
import type { ApiEnv } from './env.js';
import { auth } from './middleware/auth.js';
import { writeRateLimit } from './middleware/rate-limit.js';
import { requestContext } from './middleware/request-context.js';
import { errorHandler, problemOf, problemResponse, validationProblem } from './problem.js';
import { controlRoutes } from './routes/control.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { docsRoutes } from './routes/docs.js';
import { jobRoutes } from './routes/jobs.js';
import { ticketRoutes } from './routes/tickets.js';
import { checkpointsRoutes } from './routes/checkpoints.js';
import { dashboardDiffRoutes } from './routes/dashboard-at.js';
import { eventsRoutes } from './routes/events.js';

export type { ApiDeps } from './deps.js';
/** The one app every route file registers on, so all routes land in one OpenAPI document. */
export type ApiApp = OpenAPIHono<ApiEnv>;

/** The HTTP API. Routes live in ./routes, one file per area, registered here (see docs/api.md). */
export function createApp(deps: ApiDeps): ApiApp {
  const app: ApiApp = new OpenAPIHono<ApiEnv>({
    // A request failing its route's zod schemas: 400 naming every bad field, before any work.
    defaultHook: (result) => {
      if (!result.success) throw validationProblem(result.error, result.target);
    },
  });
  app.onError(errorHandler(deps.logger));
  app.notFound((c) =>
    problemResponse(c, problemOf(new AppError(404, 'not_found', `path: no route for ${c.req.method} ${c.req.path}`, { field: 'path' }), c.get('requestId'))),
  );
  app.use('*', httpMetrics(metrics));
  if (deps.ops) app.route('/', deps.ops);
  app.use('/api/*', requestContext(deps.logger));
  // Shutting down: answer what arrives, but on connections that then close,
  // so clients under constant load cannot keep the server from stopping.
  app.use('*', async (c, next) => {
    await next();
    if (deps.shutdown?.aborted) c.header('connection', 'close');
  });
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: deps.config.maxMessageBytes,
      onError: () => {
        // The rest of the body is not read: the connection cannot carry another request.
        throw new AppError(413, 'payload_too_large', `body: larger than ${deps.config.maxMessageBytes} bytes`, { field: 'body', headers: { connection: 'close' } });
      },
    }),
  );
  // Dashboards on other origins may read the stream; the token, not cookies, protects it.
  app.use('/api/stream', cors({ origin: '*', allowHeaders: ['authorization', 'last-event-id'], allowMethods: ['GET'] }));
  app.use('/api/*', writeRateLimit({ perSecond: deps.config.writeRatePerSecond, burst: deps.config.writeBurst }));
  const authenticator = deps.authenticator ?? createAuthenticator(deps.config, deps.db);
  app.use('/api/*', auth(authenticator));

  // One file per area (src/api/routes/); each registers its routes on `app`.
  jobRoutes(app, deps);
  deadLetterRoutes(app, deps);
  controlRoutes(app, deps);
  dashboardRoutes(app, deps);
  ticketRoutes(app, authenticator);
  app.get('/api/stream', sseHandler(deps));
  // Auditors (docs/auditing.md).
  eventsRoutes(app, deps);
  checkpointsRoutes(app, deps);
  dashboardDiffRoutes(app, deps);
  docsRoutes(app);
  app.route('/', dashboardPage({ wsPort: deps.wsPort, tokenRequired: deps.config.token !== undefined, queueWarnDepth: deps.config.queueWarnDepth, queueCriticalDepth: deps.config.queueCriticalDepth }));
  return app;
}
