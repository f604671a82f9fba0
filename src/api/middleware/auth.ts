import type { MiddlewareHandler } from 'hono';
import { bearer } from '../../stream/token.js';
import type { Authenticator } from '../auth/principal.js';
import type { ApiEnv } from '../env.js';
import { AppError } from '../../ops/errors.js';
import { isWrite } from './address.js';

/** Readable without a token: the API's description holds no data. */
const OPEN = new Set(['/api/openapi.json', '/api/docs']);
/** A read token may ask for a stream ticket: it trades its own rights, nothing more. */
const READ_WRITES = new Set(['/api/stream-tickets']);

/**
 * Bearer tokens for every route. The SSE stream also takes `?ticket=` (a
 * single-use ticket from POST /api/stream-tickets, for EventSource, which
 * cannot send headers) and `?token=`, kept because the shipped stream client
 * and `runledger tail` use it outside browsers; browsers should use tickets,
 * since URLs end up in proxies' logs. Read tokens get 403 on every write.
 */
export function auth(authenticator: Authenticator): MiddlewareHandler<ApiEnv> {
  return async function auth(c, next) {
    if (OPEN.has(c.req.path)) return next();
    const header = bearer(c.req.header('authorization'));
    let principal = authenticator.fromToken(header);
    if (principal === null && header === undefined && c.req.path === '/api/stream') {
      const ticket = c.req.query('ticket');
      principal = ticket !== undefined ? await authenticator.fromTicket(ticket) : authenticator.fromToken(c.req.query('token'));
    }
    if (principal === null) {
      throw new AppError(401, 'unauthorized', 'token: missing or wrong; send Authorization: Bearer <token> (streams: ?ticket= from POST /api/stream-tickets)', {
        field: 'token',
        headers: { 'www-authenticate': 'Bearer realm="runledger"' },
      });
    }
    c.set('principal', principal);
    if (principal.role !== 'admin' && isWrite(c.req.method) && !READ_WRITES.has(c.req.path)) {
      throw new AppError(403, 'forbidden', `token: "${principal.name}" is a read-only token; writes need the admin token`, { field: 'token' });
    }
    await next();
  };
}
