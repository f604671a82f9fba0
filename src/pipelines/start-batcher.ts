import type pg from 'pg';
import { batched } from '../ops/batched.js';

export interface StartResult {
  readonly status: string;
  readonly priority?: 'high' | 'normal' | 'background';
  readonly input?: unknown;
  readonly outputs?: Record<string, unknown>;
  /** The step holds a throttle slot (pipelines.step_slots) until it ends. */
  readonly slot?: boolean;
}

/**
 * Step starts through `pipelines.admit_steps` (throttles and queue pauses, then `pipelines.start_steps`), batched naturally: a start
 * goes out at once when no call is in flight; starts that arrive meanwhile go
 * together in the next call, as one transaction with one append. Nothing
 * waits on a timer, so an idle worker adds no latency, and a busy one takes
 * the ledger lock once per batch instead of once per step.
 * `item` is the JSON text of one {jobId, step, needs, events, jobStarted, spec}.
 */
export function startBatcher(pool: pg.Pool, workerId: string): (item: string) => Promise<StartResult> {
  return batched({
    name: 'step_start',
    together: async (items: string[]) => {
      const { rows } = await pool.query<{ r: StartResult[] }>({
        name: 'rl_admit_steps',
        text: 'select pipelines.admit_steps($1::jsonb, $2) as r',
        values: [`[${items.join(',')}]`, workerId],
      });
      return rows[0]!.r;
    },
  });
}
