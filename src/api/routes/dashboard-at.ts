import { createRoute, z } from '@hono/zod-openapi';
import type { Queryable } from '../../ledger/types.js';
import { AppError } from '../../ops/errors.js';
import { modelAsOf, type ModelAt } from '../../projections/model-at.js';
import { diffModels } from '../../projections/model-diff.js';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { json, problems } from '../schemas.js';

/** The model as of `at`, or a 400 naming `field` when it is beyond the head. */
export async function modelAtOrBadRequest(db: Queryable, at: number, field: string): Promise<ModelAt> {
  try {
    return await modelAsOf(db, at);
  } catch (error) {
    if (error instanceof RangeError) throw new AppError(400, 'bad_request', `${field}: ${error.message.replace(/^at: /, '')}`, { field });
    throw error;
  }
}

const offset = z.coerce.number().int().min(0);
const TableDiffSchema = z.object({ upserted: z.record(z.unknown()), removed: z.array(z.string()) });

const diffRoute = createRoute({
  method: 'get',
  path: '/api/dashboard/diff',
  tags: ['auditors'],
  summary: 'What changed in the read model between two offsets, table by table',
  description: 'Rows added or changed (their value at `to`) and ids removed; applied to the model at `from` it gives the model at `to`.',
  request: { query: z.object({ from: offset, to: offset }).strict() },
  responses: {
    200: json(
      z.object({ from: z.number().int(), to: z.number().int(), changes: z.record(TableDiffSchema) }).openapi('ModelDiff'),
      'The changes',
    ),
    ...problems(400),
  },
});

/** `GET /api/dashboard/diff` (the as-of-N form of `GET /api/dashboard?at=N` is in routes/dashboard.ts). */
export function dashboardDiffRoutes(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(diffRoute, async (c) => {
    const { from, to } = c.req.valid('query');
    const before = await modelAtOrBadRequest(db, from, 'from');
    const after = await modelAtOrBadRequest(db, to, 'to');
    return c.json({ from, to, changes: diffModels(before.model, after.model) as unknown as Record<string, z.infer<typeof TableDiffSchema>> }, 200);
  });
}
