import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Config } from '../../ops/config.js';
import { bearer, tokenMatches } from '../../stream/token.js';

/** Who is calling: the token's name (recorded as the actor of their actions) and what it may do. */
export interface Principal {
  readonly name: string;
  readonly role: 'admin' | 'read';
}

/** With no RUNLEDGER_TOKEN the server binds to loopback only and every caller is this. */
export const LOCAL: Principal = { name: 'local', role: 'admin' };
const ADMIN = 'admin';

export interface Authenticator {
  /** False when no token is configured: everyone is LOCAL. */
  readonly enabled: boolean;
  /** The principal a token belongs to, or null. Every known token is compared, each in constant time. */
  fromToken(given: string | undefined | null): Principal | null;
  /** Redeems a single-use stream ticket (deleting it); null when unknown, used or expired. */
  fromTicket(ticket: string | undefined | null): Promise<Principal | null>;
  /** A new ticket for `principal`, valid for config.ticketTtlMs. */
  issueTicket(principal: Principal): Promise<{ ticket: string; expiresAt: string }>;
}

const hash = (value: string) => createHash('sha256').update(value).digest('hex');

export function createAuthenticator(config: Pick<Config, 'token' | 'readTokens' | 'ticketTtlMs'>, db: pg.Pool): Authenticator {
  const known = [
    ...(config.token === undefined ? [] : [{ name: ADMIN, token: config.token, role: 'admin' as const }]),
    ...config.readTokens.map((t) => ({ ...t, role: 'read' as const })),
  ];
  return {
    enabled: config.token !== undefined,
    fromToken(given) {
      if (config.token === undefined) return LOCAL;
      let found: Principal | null = null;
      // No early exit: the time taken does not say which token (if any) matched.
      for (const entry of known) if (tokenMatches(entry.token, given) && found === null) found = { name: entry.name, role: entry.role };
      return found;
    },
    async fromTicket(ticket) {
      if (config.token === undefined) return LOCAL;
      if (typeof ticket !== 'string' || !/^[A-Za-z0-9_-]{20,100}$/.test(ticket)) return null;
      const { rows } = await db.query<Principal>(
        'delete from runledger.stream_tickets where ticket_hash = $1 and expires_at > now() returning actor as name, role',
        [hash(ticket)],
      );
      return rows[0] ?? null;
    },
    async issueTicket(principal) {
      const ticket = randomBytes(24).toString('base64url');
      // Expired tickets are removed as new ones are issued: the table stays small.
      const { rows } = await db.query<{ expires_at: Date }>(
        `with gone as (delete from runledger.stream_tickets where expires_at < now() - interval '1 minute')
         insert into runledger.stream_tickets (ticket_hash, actor, role, expires_at)
         values ($1, $2, $3, now() + make_interval(secs => $4::float8 / 1000)) returning expires_at`,
        [hash(ticket), principal.name, principal.role, config.ticketTtlMs],
      );
      return { ticket, expiresAt: rows[0]!.expires_at.toISOString() };
    },
  };
}

/**
 * The WebSocket server's check: the Authorization header (non-browser
 * clients), else `?ticket=` (browsers), else `?token=` (the shipped client
 * and `runledger tail`). Read and admin tokens may both stream.
 */
export function wsAuthenticate(authenticator: Authenticator): (query: URLSearchParams, authorization: string) => Promise<boolean> {
  return async (query, authorization) => {
    const header = bearer(authorization);
    if (header !== undefined) return authenticator.fromToken(header) !== null;
    const ticket = query.get('ticket');
    if (ticket !== null) return (await authenticator.fromTicket(ticket)) !== null;
    return authenticator.fromToken(query.get('token')) !== null;
  };
}
