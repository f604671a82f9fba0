import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { Authenticator } from '../auth/principal.js';
import { NoQuery, json, problems } from '../schemas.js';

const ticketRoute = createRoute({
  method: 'post',
  path: '/api/stream-tickets',
  tags: ['stream'],
  summary: 'Trade the bearer token for a short-lived single-use stream ticket',
  description:
    "Browsers' WebSocket and EventSource cannot send an Authorization header: pass the ticket as `?ticket=` to `ws://…/ws` or `/api/stream`. " +
    'It carries the rights of the token that asked for it (read tokens may ask) and works once.',
  request: { query: NoQuery },
  responses: {
    201: json(z.object({ ticket: z.string(), expiresAt: z.string() }).openapi('StreamTicket'), 'A ticket'),
    ...problems(),
  },
});

export function ticketRoutes(app: ApiApp, authenticator: Authenticator): void {
  app.openapi(ticketRoute, async (c) => c.json(await authenticator.issueTicket(c.get('principal')), 201));
}
