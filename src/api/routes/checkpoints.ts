import { createRoute, z } from '@hono/zod-openapi';
import { listCheckpoints } from '../../audit/checkpoints.js';
import { parseSigningKey, rawPublicKey } from '../../audit/signing-key.js';
import { AppError } from '../../ops/errors.js';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { NoQuery, json, problems } from '../schemas.js';

const CheckpointSchema = z
  .object({
    position: z.number().int(),
    hash: z.string().openapi({ description: 'The ledger hash at position, hex' }),
    signed_at: z.string(),
    public_key: z.string().openapi({ description: 'Raw Ed25519 public key, base64' }),
    signature: z.string().openapi({ description: 'Ed25519 over "runledger-checkpoint/1 <position> <hash> <signed_at>", base64' }),
  })
  .openapi('Checkpoint');

const listRoute = createRoute({
  method: 'get',
  path: '/api/checkpoints',
  tags: ['auditors'],
  summary: 'Signed checkpoints of the hash chain, newest first; save one as cp.json for `runledger verify --checkpoint`',
  request: {
    query: z
      .object({
        before: z.coerce.number().int().min(0).optional().openapi({ description: 'Checkpoints before this position' }),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      })
      .strict(),
  },
  responses: { 200: json(z.object({ data: z.array(CheckpointSchema) }), 'Checkpoints'), ...problems(400) },
});

const keyRoute = createRoute({
  method: 'get',
  path: '/api/checkpoints/key',
  tags: ['auditors'],
  summary: 'The public key this server signs checkpoints with',
  request: { query: NoQuery },
  responses: {
    200: json(z.object({ algorithm: z.literal('ed25519'), public_key: z.string() }), 'The key'),
    ...problems(404),
  },
});

/** Signed checkpoints (src/audit/checkpoints.ts). */
export function checkpointsRoutes(app: ApiApp, { db, config }: ApiDeps): void {
  const publicKey = config.signingKey === undefined ? undefined : rawPublicKey(parseSigningKey(config.signingKey)).toString('base64');
  app.openapi(listRoute, async (c) => c.json({ data: await listCheckpoints(db, c.req.valid('query')) }, 200));
  app.openapi(keyRoute, (c) => {
    if (publicKey === undefined) {
      throw new AppError(404, 'not_found', 'key: this server signs no checkpoints (RUNLEDGER_SIGNING_KEY is not set)', { field: 'key' });
    }
    return c.json({ algorithm: 'ed25519' as const, public_key: publicKey }, 200);
  });
}
