import type { Principal } from './auth/principal.js';

/** Hono variables every route of the API can read with c.get(). */
export interface ApiEnv {
  Variables: {
    /** Echoed in the X-Request-Id header, in problem documents and in the request's log line and events. */
    requestId: string;
    principal: Principal;
  };
}
