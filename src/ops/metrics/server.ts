import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tokenMatches, bearer } from '../../stream/token.js';
import type { Metrics } from './registry.js';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A bare `/metrics` (and `/health/live`) for processes without the HTTP API:
 * the `work` role, when RUNLEDGER_METRICS_PORT is set. It exports that
 * process's own numbers (Node.js, append latency); what its steps did is
 * measured from the ledger by the `serve` processes.
 */
export async function startMetricsServer(options: {
  readonly metrics: Metrics;
  readonly host: string;
  readonly port: number;
  readonly token?: string;
}): Promise<MetricsServer> {
  const { metrics, token } = options;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/health/live')) {
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'path: only GET /metrics and /health/live here' }));
      return;
    }
    if (path === '/health/live') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) }));
      return;
    }
    if (token !== undefined && !tokenMatches(token, bearer(req.headers.authorization))) {
      res.writeHead(401, { 'content-type': 'application/problem+json', 'www-authenticate': 'Bearer realm="runledger metrics"' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'token: missing or wrong', field: 'token' }));
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
        res.end(text);
      },
      () => {
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
