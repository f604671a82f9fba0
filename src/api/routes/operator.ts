import type { Context } from 'hono';
import type { OperatorOptions } from '../../pipelines/operator.js';
import type { ApiEnv } from '../env.js';

/** The actor (token name) and request id every operator action records in its events' metadata. */
export const operatorOf = (c: Context<ApiEnv>, reason?: string): OperatorOptions & { actor: string } => ({
  actor: c.get('principal').name,
  requestId: c.get('requestId'),
  ...(reason === undefined ? {} : { reason }),
});
