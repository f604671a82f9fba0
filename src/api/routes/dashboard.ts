import { createRoute, z } from '@hono/zod-openapi';
import { snapshot as readSnapshot } from '../../projections/snapshot.js';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { json, problems } from '../schemas.js';
import { modelAtOrBadRequest } from './dashboard-at.js';

const dashboardRoute = createRoute({
  method: 'get',
  path: '/api/dashboard',
  tags: ['read model'],
  summary: 'The whole read model with the ledger offset it is consistent at',
  description: 'Subscribe to the stream from `offset` to keep it current: nothing is missed or applied twice.',
  request: {
    query: z
      .object({
        at: z.coerce.number().int().min(0).optional().openapi({
          description: 'The model exactly as it was at this offset (auditors; from the nearest stored model snapshot, see docs/auditing.md)',
        }),
      })
      .strict(),
  },
  responses: {
    200: json(z.object({ offset: z.number(), model: z.record(z.unknown()) }).openapi('Snapshot'), 'Snapshot'),
    ...problems(400),
  },
});

export function dashboardRoutes(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(dashboardRoute, async (c) => {
    const { at } = c.req.valid('query');
    if (at !== undefined) {
      const { offset, model, base, replayed } = await modelAtOrBadRequest(db, at, 'at');
      return c.json({ offset, model: model as unknown as Record<string, unknown>, base, replayed }, 200);
    }
    const { offset, model } = await readSnapshot(db);
    return c.json({ offset, model: model as unknown as Record<string, unknown> }, 200);
  });
}
