import type pg from 'pg';
import type { Logger } from '../ops/logger.js';
import { sweep, type SweepConfig } from './sweep.js';

export interface SweeperOptions {
  readonly pool: pg.Pool;
  readonly config: SweepConfig;
  readonly logger: Logger;
  /** (Default: a third of the worker TTL, at least 200 ms and at most 10 s) */
  readonly intervalMs?: number;
}

/**
 * Runs `sweep` on a timer. Every worker process also sweeps once a minute
 * from graphile-worker's crontab; this timer is what keeps dead-worker
 * detection within the TTL plus a few seconds.
 */
export function startSweeper(options: SweeperOptions): { stop(): Promise<void> } {
  const intervalMs = options.intervalMs ?? Math.min(10_000, Math.max(200, Math.floor(options.config.workerTtlMs / 3)));
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = sweep(options.pool, options.config)
      .then((result) => {
        if (result.offline.length > 0) options.logger.warn({ offline: result.offline }, 'workers declared offline');
      })
      .catch((error: Error) => options.logger.error({ err: error }, 'sweep failed'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  tick();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
