import type { MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Queryable } from '../../ledger/types.js';
import { AppError } from '../../ops/errors.js';
import { modelAsOf } from '../../projections/model-at.js';
import { diffModels } from '../../projections/model-diff.js';
import { parseQuery } from './audit-query.js';

const offset = z.coerce.number().int().min(0);
export const AtQuery = z.object({ at: offset });
export const DiffQuery = z.object({ from: offset, to: offset });

async function modelOrBadRequest(db: Queryable, at: number, field: string) {
  try {
    return await modelAsOf(db, at);
  } catch (error) {
    if (error instanceof RangeError) throw new AppError(400, 'bad_request', `${field}: ${error.message.replace(/^at: /, '')}`, { field });
    throw error;
  }
}

/**
 * `GET /api/dashboard?at=N`: the read model exactly as it was at offset N
 * (src/projections/model-at.ts). Without `at` the request goes on to the
 * live dashboard route, so this is mounted before it as a middleware.
 */
export function dashboardAt(deps: { readonly db: Queryable }): MiddlewareHandler {
  return async function dashboardAtOffset(c, next) {
    if (c.req.method !== 'GET' || c.req.query('at') === undefined) return next();
    const { at } = parseQuery(AtQuery, c.req.query());
    const result = await modelOrBadRequest(deps.db, at, 'at');
    return c.json({ offset: result.offset, model: result.model, base: result.base, replayed: result.replayed });
  };
}

/** `GET /api/dashboard/diff?from=N&to=M`: entity by entity, what changed from offset N to M (src/projections/model-diff.ts). */
export function dashboardDiffRoutes(deps: { readonly db: Queryable }): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const { from, to } = parseQuery(DiffQuery, c.req.query());
    const [before, after] = [await modelOrBadRequest(deps.db, from, 'from'), await modelOrBadRequest(deps.db, to, 'to')];
    return c.json({ from, to, changes: diffModels(before.model, after.model) });
  });
  return app;
}
