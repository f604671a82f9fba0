import type pg from 'pg';

/** A step's transaction, begun only when first needed. */
export interface LazyTransaction {
  /** `select pipelines.finish_step(...)` in the step's transaction (begun first if the handler did not). */
  finishStep<R>(values: readonly [jobId: string, step: string, attempt: number, workerId: string, output: string, outputBytes: number]): Promise<R>;
  /** Whether the handler (or finishStep) began the transaction. */
  readonly begun: boolean;
  /** Gives the client its own `query` back (before it returns to the pool). */
  restore(): void;
}

const FINISH_STEP = 'select pipelines.finish_step($1, $2, $3, $4, $5::jsonb, $6) as r';

/**
 * Most handlers never touch `ctx.db`; for them a `begin` round trip before
 * the handler is one of the step's few, each a pair of context switches on a
 * busy machine. The client's `query` is wrapped so the handler's first query
 * sends `begin` ahead of itself (the pg client runs queries in order); if
 * there was none, the step's outcome joins the other finishing steps'
 * transaction (finish-batcher.ts), or, for an output too large to send
 * inline, `begin` goes ahead of finish_step.
 */
export function lazyTransaction(client: pg.PoolClient): LazyTransaction {
  let begun = false;
  const original = client.query;
  const own = original.bind(client) as unknown as (query: string | pg.QueryConfig) => Promise<pg.QueryResult | pg.QueryResult[]>;
  const begin = () => {
    begun = true;
    // Its failure (a broken connection) fails the query queued behind it.
    own('begin').catch(() => {});
  };
  client.query = function (...args: unknown[]) {
    if (!begun) begin();
    return (original as (...a: unknown[]) => unknown).apply(client, args);
  } as typeof client.query;
  return {
    get begun() {
      return begun;
    },
    async finishStep<R>(values: readonly [string, string, number, string, string, number]) {
      if (!begun) begin();
      const { rows } = (await own({ name: 'rl_finish_step', text: FINISH_STEP, values: [...values] })) as pg.QueryResult;
      return (rows[0] as { r: R }).r;
    },
    restore() {
      client.query = original;
    },
  };
}
