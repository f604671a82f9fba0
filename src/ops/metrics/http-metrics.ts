import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Metrics } from './registry.js';

/**
 * Times every HTTP request. The route label is the matched route's pattern
 * (`/api/jobs/:id`), never the raw path, and the status its class (2xx…),
 * so the label sets stay few. Streams are timed until their headers are sent.
 */
export function httpMetrics(metrics: Metrics): MiddlewareHandler {
  return async function httpMetrics(c, next) {
    const end = metrics.httpSeconds.startTimer();
    try {
      await next();
    } finally {
      end({ method: c.req.method, route: routePath(c, -1), status: `${Math.floor(c.res.status / 100)}xx` });
    }
  };
}
