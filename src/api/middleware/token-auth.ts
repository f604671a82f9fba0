import type { MiddlewareHandler } from 'hono';
import { AppError } from '../../ops/errors.js';
import { bearer, tokenMatches } from '../../stream/token.js';

export interface TokenAuthOptions {
  /** Unset: every request passes (the server then binds to loopback only). */
  readonly token: string | undefined;
}

/**
 * Requires the token as `Authorization: Bearer <token>` or, for EventSource,
 * which cannot set headers, as the `token` query parameter.
 */
export function tokenAuth({ token }: TokenAuthOptions): MiddlewareHandler {
  return async function tokenAuth(c, next) {
    if (token !== undefined && !tokenMatches(token, bearer(c.req.header('authorization')) ?? c.req.query('token'))) {
      throw new AppError(401, 'unauthorized', 'token: missing or wrong; send Authorization: Bearer <token> or ?token=', {
        field: 'token',
      });
    }
    await next();
  };
}
