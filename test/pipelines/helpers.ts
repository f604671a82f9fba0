import type pg from 'pg';
import { readConfig } from '../../src/ops/config.js';
import { createLogger } from '../../src/ops/logger.js';
import { startWorker, type RunningWorker, type WorkerOptions } from '../../src/pipelines/index.js';
import { eventually } from '../helpers/ordering-harness.js';

export { eventually };

export const silent = createLogger('silent');

/** Test settings: small thresholds, fast heartbeats; the TTL is long unless a test shortens it. */
export const testConfig = {
  ...readConfig({}),
  workerConcurrency: 4,
  heartbeatMs: 200,
  workerTtlMs: 60_000,
  queueWarnDepth: 2,
  queueCriticalDepth: 4,
};

export function startTestWorker(url: string, options: Partial<WorkerOptions> = {}): Promise<RunningWorker> {
  return startWorker({ url, config: testConfig, logger: silent, crontab: false, pollIntervalMs: 100, graceMs: 2000, ...options });
}

export interface EventSummary {
  readonly position: number;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

export async function jobEvents(pool: pg.Pool, jobId: string): Promise<EventSummary[]> {
  const { rows } = await pool.query<{ position: string; type: string; data: Record<string, unknown> }>(
    `select position, type, data from ledger.events where stream_type = 'job' and stream_id = $1 order by position`,
    [jobId],
  );
  return rows.map((row) => ({ position: Number(row.position), type: row.type, data: row.data }));
}

/** "type" or "type:step" for each event, in ledger order. */
export const sequence = (events: readonly EventSummary[]) =>
  events.map((e) => (typeof e.data.step === 'string' && e.type.startsWith('step.') ? `${e.type}:${e.data.step}` : e.type));

export async function jobState(pool: pg.Pool, jobId: string): Promise<string | undefined> {
  const { rows } = await pool.query<{ state: string }>('select state from pipelines.jobs where job_id = $1', [jobId]);
  return rows[0]?.state;
}

export const untilState = (pool: pg.Pool, jobId: string, state: string, ms = 30_000) =>
  eventually(async () => (await jobState(pool, jobId)) === state, ms, `job ${jobId} ${state}`);

export async function countEvents(pool: pg.Pool, type: string, where = 'true', values: unknown[] = []): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`select count(*) as n from ledger.events where type = $1 and (${where})`, [type, ...values]);
  return Number(rows[0]!.n);
}
