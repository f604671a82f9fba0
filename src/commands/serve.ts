import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from '../api/app.js';
import { createAuthenticator, wsAuthenticate } from '../api/auth/principal.js';
import { answerClientError } from '../api/client-error.js';
import { registerDemoPipelines } from '../pipelines/demo/index.js';
import { startCheckpointer } from '../audit/checkpoints.js';
import { parseSigningKey } from '../audit/signing-key.js';
import { startModelSnapshotter } from '../projections/model-snapshots.js';
import { Doorbell } from '../ledger/doorbell.js';
import type pg from 'pg';
import { untilSignal } from '../ops/signals.js';
import { ensureProjectionVersion } from '../projections/rebuild.js';
import { startProjector } from '../projections/projector.js';
import { snapshot as readSnapshot } from '../projections/snapshot.js';
import { createAddressLimit } from '../stream/address-limit.js';
import { startFeed } from '../stream/feed.js';
import { loadUws } from '../stream/native.js';
import { startStreamServer } from '../stream/server.js';
import type { SnapshotFn } from '../stream/session.js';
import { isLoopback } from '../stream/token.js';
import { createLedgerObserver } from '../ops/metrics/ledger-observer.js';
import { metrics } from '../ops/metrics/registry.js';
import type { Command, CommandContext } from './command.js';
import { opsRoutes } from './ops-routes.js';
import { withDatabase } from './with-database.js';

export interface Servers {
  readonly httpPort: number;
  readonly wsPort: number;
  /** Graceful: sockets and SSE streams are closed with the shutdown code and their resume offset. */
  stop(): Promise<void>;
}

/**
 * Starts the projector, the HTTP API (with SSE) and the WebSocket stream
 * server, the latter two fed by one ledger follower of this process. Any
 * number of processes may do this against one database: each follows the
 * ledger itself, and one projector at a time applies (the others stand by).
 */
export async function startServers(db: pg.Pool, databaseUrl: string, { config, logger }: CommandContext): Promise<Servers> {
  if (config.token === undefined && !isLoopback(config.host)) {
    throw new Error(
      `refusing to bind to ${config.host} without a token: set RUNLEDGER_TOKEN, or HOST=127.0.0.1 to serve this machine only`,
    );
  }
  loadUws();
  const doorbell = new Doorbell(databaseUrl);
  doorbell.on('error', (error) => logger.warn({ err: error }, 'ledger LISTEN connection error; reconnecting'));
  await doorbell.start();
  // Snapshots come from the read model: keep it current (rebuilt first when
  // the projection code changed).
  await ensureProjectionVersion(db, logger);
  doorbell.on('reconnected', () => metrics.listenerReconnects.inc());
  const projector = startProjector({
    pool: db,
    doorbell,
    logger,
    pollMs: config.tailPollMs,
    intervalMs: config.projectorIntervalMs,
    observeEvents: createLedgerObserver(metrics),
  });
  // Auditors (docs/auditing.md): signed checkpoints when a key is configured, and model snapshots for as-of-N.
  const checkpointer =
    config.signingKey === undefined
      ? undefined
      : startCheckpointer({ pool: db, key: parseSigningKey(config.signingKey), every: config.checkpointEvery, logger });
  const modelSnapshotter = startModelSnapshotter({
    pool: db,
    policy: { every: config.modelSnapshotEvery, keep: config.modelSnapshotKeep },
    logger,
  });
  const feed = await startFeed({
    db,
    doorbell,
    pollMs: config.tailPollMs,
    onError: (error) => logger.error({ err: error }, 'ledger follower failed; retrying on the next notification'),
  });
  const serverId = `${os.hostname()}:${process.pid}`;
  const snapshot: SnapshotFn = (slice) => readSnapshot(db, slice);
  const addressLimit = createAddressLimit(config.maxConnectionsPerIp);
  // The pipelines' definitions: the API checks job inputs against them and lists them.
  registerDemoPipelines();
  const authenticator = createAuthenticator(config, db);
  const stream = await startStreamServer({ config, db, feed, logger, serverId, snapshot, addressLimit, authenticate: wsAuthenticate(authenticator) });
  const shutdown = new AbortController();
  const ops = opsRoutes({ config, db, doorbell, projector, wsPort: stream.port, shutdown: shutdown.signal });
  const app = createApp({ config, db, feed, logger, serverId, snapshot, addressLimit, shutdown: shutdown.signal, ops, authenticator, wsPort: stream.port });
  const http = await new Promise<ServerType>((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: config.httpPort, hostname: config.host }, () => resolve(server));
    server.once('error', reject);
    server.on('clientError', answerClientError);
  });
  const httpPort = (http.address() as AddressInfo).port;
  logger.info({ host: config.host, httpPort, wsPort: stream.port, serverId }, 'listening');
  return {
    httpPort,
    wsPort: stream.port,
    async stop() {
      shutdown.abort();
      await stream.close();
      await new Promise<void>((resolve) => {
        // Streams ended above leave kept-alive connections that turn idle a
        // moment later: close those as they do, rather than after keepAliveTimeout.
        const idle = setInterval(() => 'closeIdleConnections' in http && http.closeIdleConnections(), 100);
        http.close(() => {
          clearInterval(idle);
          resolve();
        });
        if ('closeIdleConnections' in http) http.closeIdleConnections();
      });
      await feed.stop();
      await projector.stop();
      await checkpointer?.stop();
      await modelSnapshotter.stop();
      await doorbell.stop();
    },
  };
}

export const serveCommand: Command = {
  summary: 'run the HTTP API (with SSE) and the WebSocket stream server until SIGTERM/Ctrl-C',
  run: (_args, context) => {
    // Listen from the start: a signal during start-up still stops us gracefully.
    const signalled = untilSignal();
    return withDatabase(context, async (pool, database) => {
      const servers = await startServers(pool, database.url, context);
      const signal = await signalled;
      context.logger.info({ signal }, 'stopping: closing streams with their resume offsets');
      // A database that went away can leave reconnect loops running; do not hang forever.
      const deadline = setTimeout(() => {
        context.logger.error('shutdown did not finish within 15 s; exiting');
        process.exit(1);
      }, 15_000);
      deadline.unref();
      await servers.stop();
      return 0;
    });
  },
};
