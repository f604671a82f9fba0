import type pg from 'pg';

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
  let pending: { item: string; resolve: (result: StartResult) => void; reject: (error: unknown) => void }[] = [];
  let inFlight = false;
  const flush = async () => {
    inFlight = true;
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        const { rows } = await pool.query<{ r: StartResult[] }>({
          name: 'rl_admit_steps',
          text: 'select pipelines.admit_steps($1::jsonb, $2) as r',
          values: [`[${batch.map((b) => b.item).join(',')}]`, workerId],
        });
        rows[0]!.r.forEach((result, i) => batch[i]!.resolve(result));
      } catch (error) {
        for (const b of batch) b.reject(error);
      }
    }
    inFlight = false;
  };
  return (item) =>
    new Promise<StartResult>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (!inFlight) void flush();
    });
}
