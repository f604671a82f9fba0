import { Hono } from 'hono';
import { z } from 'zod';
import { listCheckpoints } from '../../audit/checkpoints.js';
import { parseSigningKey, rawPublicKey } from '../../audit/signing-key.js';
import type { Queryable } from '../../ledger/types.js';
import { AppError } from '../../ops/errors.js';
import { parseQuery } from './audit-query.js';

export const CheckpointsQuery = z.object({
  before: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/**
 * Signed checkpoints (src/audit/checkpoints.ts): `GET /api/checkpoints`,
 * newest first, each one a cp.json an auditor can save;
 * `GET /api/checkpoints/key`: this server's public key.
 */
export function checkpointsRoutes(deps: { readonly db: Queryable; readonly config: { readonly signingKey?: string | undefined } }): Hono {
  const app = new Hono();
  const publicKey = deps.config.signingKey === undefined ? undefined : rawPublicKey(parseSigningKey(deps.config.signingKey)).toString('base64');
  app.get('/', async (c) => {
    const query = parseQuery(CheckpointsQuery, c.req.query());
    return c.json({ data: await listCheckpoints(deps.db, query) });
  });
  app.get('/key', (c) => {
    if (publicKey === undefined) {
      throw new AppError(404, 'not_found', 'key: this server signs no checkpoints (RUNLEDGER_SIGNING_KEY is not set)', { field: 'key' });
    }
    return c.json({ algorithm: 'ed25519', public_key: publicKey });
  });
  return app;
}
