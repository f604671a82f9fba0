import type { Context } from 'hono';

/** The client's address as @hono/node-server sees the socket ('unknown' elsewhere). */
export const addressOf = (c: Context): string =>
  (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress ?? 'unknown';

/** POST, PUT, PATCH and DELETE change things; GET, HEAD and OPTIONS do not. */
export const isWrite = (method: string): boolean => !['GET', 'HEAD', 'OPTIONS'].includes(method);
