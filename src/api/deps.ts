import type { Hono } from 'hono';
import type pg from 'pg';
import type { Config } from '../ops/config.js';
import type { Logger } from '../ops/logger.js';
import type { AddressLimit } from '../stream/address-limit.js';
import type { Feed } from '../stream/feed.js';
import type { SnapshotFn } from '../stream/session.js';
import type { Authenticator } from './auth/principal.js';

/** Everything the HTTP API needs, passed in explicitly. */
export interface ApiDeps {
  readonly config: Pick<
    Config,
    'token' | 'readTokens' | 'signingKey' | 'maxMessageBytes' | 'maxBufferedBytes' | 'replayLimit' | 'writeRatePerSecond' | 'writeBurst' | 'ticketTtlMs'
  > &
    Partial<Pick<Config, 'queueWarnDepth' | 'queueCriticalDepth'>>;
  readonly db: pg.Pool;
  readonly feed: Feed;
  readonly logger: Logger;
  /** Names this process in `hello` frames. */
  readonly serverId: string;
  readonly snapshot?: SnapshotFn;
  /** Aborted on shutdown: open SSE streams end with a `shutting_down` error carrying their resume offset. */
  readonly shutdown?: AbortSignal;
  /** Open streams per client address, shared with the WebSocket server. (Default: none, SSE streams are not capped) */
  readonly addressLimit?: AddressLimit;
  /** The port of this process's WebSocket stream server, told to the dashboard page. */
  readonly wsPort?: number;
  /** Interval of SSE heartbeat comments, ms. (Default: 15000) */
  readonly heartbeatMs?: number;
  /** `/health/*` and `/metrics*` (src/commands/ops-routes.ts), mounted outside `/api` and its auth. (Default: none) */
  readonly ops?: Hono;
  /** Shared with the WebSocket server, so tickets work on both. (Default: one made from config) */
  readonly authenticator?: Authenticator;
}
