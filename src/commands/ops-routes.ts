import net from 'node:net';
import { Hono } from 'hono';
import type { Doorbell } from '../ledger/doorbell.js';
import type { Queryable } from '../ledger/types.js';
import type { Config } from '../ops/config.js';
import { healthRoutes } from '../ops/health.js';
import { createDatabaseCollector } from '../ops/metrics/collect-database.js';
import { metrics } from '../ops/metrics/registry.js';
import { metricsRoutes } from '../ops/metrics/routes.js';
import type { Projector } from '../projections/projector.js';

export interface OpsRoutesOptions {
  readonly config: Pick<Config, 'host' | 'metricsToken' | 'readyMaxLagSeconds'>;
  readonly db: Queryable;
  readonly doorbell: Doorbell;
  readonly projector: Projector;
  readonly wsPort: number;
  readonly shutdown: AbortSignal;
}

/** Whether something accepts TCP connections on host:port: the stream server, checked as a client would. */
function accepts(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  const target = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = net.connect({ host: target, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The health and metrics routes of a `serve` process, mounted by the API outside `/api`. */
export function opsRoutes(options: OpsRoutesOptions): Hono {
  const { config, db, doorbell, projector, wsPort, shutdown } = options;
  const collectDatabase = createDatabaseCollector(db, metrics);
  const routes = new Hono();
  routes.route(
    '/',
    healthRoutes({
      db,
      listener: () => doorbell.connected,
      streamServer: () => accepts(config.host, wsPort),
      shuttingDown: () => shutdown.aborted,
      maxLagSeconds: config.readyMaxLagSeconds,
    }),
  );
  routes.route(
    '/',
    metricsRoutes({
      metrics,
      token: config.metricsToken,
      collect: async () => {
        metrics.projectorLeader.set(projector.leader ? 1 : 0);
        return collectDatabase();
      },
    }),
  );
  return routes;
}
