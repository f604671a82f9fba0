import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

// The bundle `npm run build` writes (scripts/build-dashboard.mjs): dist/dashboard/.
const BUNDLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dashboard');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface DashboardOptions {
  /** The port of this process's WebSocket stream server, told to the page (it may differ from the configured one, e.g. 0). */
  readonly wsPort?: number;
  /** Whether the server requires a token: the page then asks for one. */
  readonly tokenRequired: boolean;
  /** Queue depth thresholds of the alerts, so the page colours depth the same way. */
  readonly queueWarnDepth?: number;
  readonly queueCriticalDepth?: number;
}

/**
 * Serves the live dashboard: `/` (the page) and `/assets/*` (its bundle),
 * read once from dist/dashboard. No token is needed to load the page itself
 * (it holds no data); everything it shows comes from the token-protected API
 * and stream.
 */
export function dashboardRoutes(options: DashboardOptions): Hono {
  const app = new Hono();
  const assets = new Map<string, { body: Buffer; type: string }>();
  let index: string | undefined;
  const load = () => {
    if (index !== undefined) return index;
    const html = fs.readFileSync(path.join(BUNDLE_DIR, 'index.html'), 'utf8');
    for (const name of fs.readdirSync(path.join(BUNDLE_DIR, 'assets'))) {
      assets.set(name, { body: fs.readFileSync(path.join(BUNDLE_DIR, 'assets', name)), type: TYPES[path.extname(name)] ?? 'application/octet-stream' });
    }
    const meta =
      `<meta name="runledger-ws-port" content="${options.wsPort ?? ''}">` +
      `<meta name="runledger-token-required" content="${options.tokenRequired ? '1' : '0'}">` +
      `<meta name="runledger-queue-warn" content="${options.queueWarnDepth ?? ''}">` +
      `<meta name="runledger-queue-critical" content="${options.queueCriticalDepth ?? ''}">`;
    index = html.replace('<!--runledger-config-->', meta);
    return index;
  };
  const headers = {
    'content-security-policy':
      "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
  };
  app.get('/', (c) => {
    try {
      return c.html(load(), 200, { ...headers, 'cache-control': 'no-cache' });
    } catch {
      return c.text('the dashboard is not built: run `npm run build`', 503);
    }
  });
  app.get('/assets/:name', (c) => {
    load();
    const asset = assets.get(c.req.param('name'));
    if (!asset) return c.notFound();
    return c.body(new Uint8Array(asset.body), 200, { ...headers, 'content-type': asset.type, 'cache-control': 'no-cache' });
  });
  return app;
}
