import v8 from 'node:v8';
import { Hono } from 'hono';
import type { Queryable } from '../ledger/types.js';

export type CheckStatus = 'ok' | 'degraded' | 'down';

export interface CheckResult {
  readonly status: CheckStatus;
  /** Why it is not ok, for an operator. */
  readonly reason?: string;
  readonly [detail: string]: unknown;
}

export interface HealthDeps {
  readonly db: Queryable;
  /** True while the LISTEN connection for ledger notifications is up. */
  readonly listener: () => boolean;
  /** True while the WebSocket stream server accepts connections. */
  readonly streamServer: () => boolean | Promise<boolean>;
  /** True once shutdown has begun: the process should get no new traffic. */
  readonly shuttingDown: () => boolean;
  /** The read model further behind the ledger than this (age of the oldest unapplied event) is degraded, seconds. */
  readonly maxLagSeconds: number;
  /** Heap used over the heap limit above this is degraded. (Default: 0.9) */
  readonly maxHeapRatio?: number;
  /** A database check slower than this fails, ms. (Default: 2000) */
  readonly timeoutMs?: number;
}

export interface Readiness {
  /** ok: everything works; degraded: serving, with reasons; unavailable: send no traffic (503). */
  readonly status: 'ok' | 'degraded' | 'unavailable';
  readonly reasons: string[];
  readonly checks: Record<string, CheckResult>;
}

const LAG_SQL = `
select h.head, c.position as checkpoint,
       coalesce(extract(epoch from clock_timestamp() - (select sealed_at from ledger.blocks where last_position > c.position order by last_position limit 1)), 0)::float8 as lag_seconds
  from (select coalesce(max(last_position), 0) as head from ledger.blocks) h, projection.checkpoint c`;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Readiness: the database and the stream server must work (else 503); a
 * lost LISTEN connection (readers fall back to polling), a lagging read
 * model or a nearly full heap degrade the process but it keeps serving.
 */
export async function checkReadiness(deps: HealthDeps): Promise<Readiness> {
  const { maxHeapRatio = 0.9, timeoutMs = 2000 } = deps;
  const checks: Record<string, CheckResult> = {};

  const started = performance.now();
  try {
    const { rows } = await withTimeout(
      deps.db.query<{ head: string; checkpoint: string; lag_seconds: number }>(LAG_SQL),
      timeoutMs,
      'the database',
    );
    checks.database = { status: 'ok', ms: Math.round(performance.now() - started) };
    const { head, checkpoint, lag_seconds: lagSeconds } = rows[0]!;
    const lagEvents = Math.max(0, Number(head) - Number(checkpoint));
    const seconds = lagEvents > 0 ? Math.max(0, lagSeconds) : 0;
    checks.projection =
      seconds > deps.maxLagSeconds
        ? { status: 'degraded', reason: `projection: read model ${lagEvents} events (${seconds.toFixed(1)} s) behind the ledger`, lagEvents, lagSeconds: seconds }
        : { status: 'ok', lagEvents, lagSeconds: seconds };
  } catch (error) {
    checks.database = { status: 'down', reason: `database: ${(error as Error).message}` };
  }

  checks.listener = deps.listener()
    ? { status: 'ok' }
    : { status: 'degraded', reason: 'listener: LISTEN connection down, reconnecting; the stream falls back to polling the ledger' };

  checks.streamServer = (await deps.streamServer()) ? { status: 'ok' } : { status: 'down', reason: 'streamServer: not listening' };
  if (deps.shuttingDown()) checks.shutdown = { status: 'down', reason: 'shutdown: shutting down' };

  const heap = process.memoryUsage();
  const limit = v8.getHeapStatistics().heap_size_limit;
  const ratio = heap.heapUsed / limit;
  const memory = { heapUsedBytes: heap.heapUsed, heapLimitBytes: limit, rssBytes: heap.rss };
  checks.memory =
    ratio > maxHeapRatio
      ? { status: 'degraded', reason: `memory: heap ${(ratio * 100).toFixed(0)} % of its limit`, ...memory }
      : { status: 'ok', ...memory };

  const results = Object.values(checks);
  const reasons = results.flatMap((check) => (check.reason === undefined ? [] : [check.reason]));
  const status = results.some((check) => check.status === 'down')
    ? 'unavailable'
    : results.some((check) => check.status === 'degraded')
      ? 'degraded'
      : 'ok';
  return { status, reasons, checks };
}

/** `/health/live` (the process answers; no dependency checked) and `/health/ready`. Never behind a token. */
export function healthRoutes(deps: HealthDeps): Hono {
  const routes = new Hono();
  const noStore = { 'cache-control': 'no-store' };
  routes.get('/health/live', (c) => c.json({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) }, 200, noStore));
  routes.get('/health/ready', async (c) => {
    const readiness = await checkReadiness(deps);
    return c.json(readiness, readiness.status === 'unavailable' ? 503 : 200, noStore);
  });
  return routes;
}
