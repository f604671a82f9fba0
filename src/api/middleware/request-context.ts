import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../../ops/logger.js';
import type { ApiEnv } from '../env.js';

/**
 * Gives every request an id (the client's X-Request-Id when it is a sane
 * token, else a new UUID), returns it in the X-Request-Id header and writes
 * one log line per request carrying it, so a problem document's requestId
 * finds its log line.
 */
export function requestContext(logger: Logger): MiddlewareHandler<ApiEnv> {
  return async function requestContext(c, next) {
    const given = c.req.header('x-request-id');
    const requestId = given !== undefined && /^[A-Za-z0-9._:-]{1,100}$/.test(given) ? given : randomUUID();
    c.set('requestId', requestId);
    const t0 = performance.now();
    try {
      await next();
    } finally {
      c.header('x-request-id', requestId);
      const status = c.res.status;
      const line = {
        requestId,
        method: c.req.method,
        path: c.req.path,
        status,
        ms: Math.round((performance.now() - t0) * 10) / 10,
        actor: c.get('principal')?.name,
      };
      if (status >= 500) logger.error(line, 'request');
      else logger.info(line, 'request');
    }
  };
}
