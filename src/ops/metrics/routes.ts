import { Hono, type MiddlewareHandler } from 'hono';
import { AppError } from '../errors.js';
import { bearer, tokenMatches } from '../../stream/token.js';
import type { Metrics } from './registry.js';

export interface MetricsRoutesOptions {
  readonly metrics: Metrics;
  /** Refreshes the scrape-time gauges; resolves false when the database did not answer. */
  readonly collect: () => Promise<boolean>;
  /** Required as `Authorization: Bearer` when set. (Default: unset, open like most exporters: counts only, no job data) */
  readonly token?: string;
  /** A collection slower than this is abandoned and the scrape answers with what it has, ms. (Default: 5000) */
  readonly timeoutMs?: number;
}

/** `/metrics` (Prometheus text format) and `/metrics/json` (prom-client's JSON of the same values). */
export function metricsRoutes({ metrics, collect, token, timeoutMs = 5000 }: MetricsRoutesOptions): Hono {
  const routes = new Hono();
  const guard: MiddlewareHandler = async function metricsAuth(c, next) {
    if (token === undefined || tokenMatches(token, bearer(c.req.header('authorization')))) return next();
    // Thrown, so the API's one error handler answers with its problem document.
    c.header('WWW-Authenticate', 'Bearer realm="runledger metrics"');
    throw new AppError(401, 'unauthorized', 'token: missing or wrong; send Authorization: Bearer <RUNLEDGER_METRICS_TOKEN>', { field: 'token' });
  };
  routes.use('/metrics', guard);
  routes.use('/metrics/*', guard);
  const refresh = async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    if (!(await Promise.race([collect(), timeout]))) metrics.databaseUp.set(0);
    clearTimeout(timer);
  };
  routes.get('/metrics', async (c) => {
    await refresh();
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
  });
  routes.get('/metrics/json', async (c) => {
    await refresh();
    return c.json(await metrics.registry.getMetricsAsJSON(), 200, { 'cache-control': 'no-store' });
  });
  return routes;
}
