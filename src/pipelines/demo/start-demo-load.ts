import type pg from 'pg';
import type { Logger } from '../../ops/logger.js';
import { createJob } from '../create-job.js';
import type { Priority } from '../../events/catalogue.js';
import { pick } from './simulate.js';

export interface DemoLoadOptions {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  /** Jobs created per second (fractions allowed). */
  readonly jobsPerSecond: number;
  /** Chance each simulated step fails, 0..1. */
  readonly failureRate: number;
  /** config.maxEventBytes (Default: 262144) */
  readonly maxEventBytes?: number;
  /** Speed-up of simulated work (2 = twice as fast). (Default: 2) */
  readonly speed?: number;
}

const PROMPTS = ['Write a guide to testing async code', 'Explain event sourcing to a new hire', 'Compare queue backends', 'Summarise this quarter'];
const PRIORITIES: readonly Priority[] = ['high', 'normal', 'normal', 'normal', 'background'];

/** Creates demo jobs at a steady rate, alternating the two demo pipelines. */
export function startDemoLoad(options: DemoLoadOptions): { stop(): Promise<void> } {
  if (!(options.jobsPerSecond > 0)) return { stop: async () => {} };
  const inflight = new Set<Promise<unknown>>();
  let n = 0;
  const create = () => {
    n += 1;
    const common = { failureRate: options.failureRate, speed: options.speed ?? 2 };
    const job =
      n % 2 === 1
        ? createJob(options.pool, 'video_clip', { url: `https://videos.example/${n}.mp4`, durationSeconds: 120 + Math.floor(Math.random() * 900), ...common }, { priority: pick(PRIORITIES), actor: 'demo', maxEventBytes: options.maxEventBytes })
        : createJob(options.pool, 'content_agents', { prompt: pick(PROMPTS), ...common }, { priority: pick(PRIORITIES), actor: 'demo', maxEventBytes: options.maxEventBytes });
    const tracked = job.catch((error: Error) => options.logger.warn({ err: error }, 'demo job not created'));
    inflight.add(tracked);
    void tracked.finally(() => inflight.delete(tracked));
  };
  const timer = setInterval(create, Math.max(10, 1000 / options.jobsPerSecond));
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
    },
  };
}
