import { createRoute, z } from '@hono/zod-openapi';
import { snapshot as readSnapshot } from '../../projections/snapshot.js';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { NoQuery, json, problems } from '../schemas.js';

const dashboardRoute = createRoute({
  method: 'get',
  path: '/api/dashboard',
  tags: ['read model'],
  summary: 'The whole read model with the ledger offset it is consistent at',
  description: 'Subscribe to the stream from `offset` to keep it current: nothing is missed or applied twice.',
  request: { query: NoQuery },
  responses: {
    200: json(z.object({ offset: z.number(), model: z.record(z.unknown()) }).openapi('Snapshot'), 'Snapshot'),
    ...problems(),
  },
});

export function dashboardRoutes(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(dashboardRoute, async (c) => {
    const { offset, model } = await readSnapshot(db);
    return c.json({ offset, model: model as unknown as Record<string, unknown> }, 200);
  });
}
