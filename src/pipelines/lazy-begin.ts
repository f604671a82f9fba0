import type pg from 'pg';
import { INLINE_LIMIT, literal } from '../ledger/append.js';

/** A step's transaction, begun only when first needed. */
export interface LazyTransaction {
  /**
   * `select pipelines.finish_step(...)` in the step's transaction: with `begin`
   * in the same round trip when the handler never used its client.
   */
  finishStep<R>(values: readonly [jobId: string, step: string, attempt: number, workerId: string, output: string, outputBytes: number]): Promise<R>;
  /** Whether the handler (or finishStep) began the transaction. */
  readonly begun: boolean;
  /** Gives the client its own `query` back (before it returns to the pool). */
  restore(): void;
}

const FINISH_STEP = 'select pipelines.finish_step($1, $2, $3, $4, $5::jsonb, $6) as r';

/**
 * Most handlers never touch `ctx.db`; for them a `begin` round trip before
 * the handler is one of the step's five or six, each a pair of context
 * switches on a busy machine. The client's `query` is wrapped so the
 * handler's first query sends `begin` ahead of itself (the pg client runs
 * queries in order); if there was none, `begin` goes with finish_step.
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
      // A large output travels as a bind parameter instead (see ledger/append.ts).
      if (!begun && values[4].length <= INLINE_LIMIT) {
        begun = true;
        const [jobId, step, attempt, workerId, output, outputBytes] = values;
        const sql =
          `begin; select pipelines.finish_step(${literal(jobId)}, ${literal(step)}, ${Math.trunc(attempt)}, ` +
          `${literal(workerId)}, ${literal(output)}::jsonb, ${Math.trunc(outputBytes)}) as r`;
        const results = (await own(sql)) as pg.QueryResult[];
        return (results[1]!.rows[0] as { r: R }).r;
      }
      if (!begun) begin();
      const { rows } = (await own({ name: 'rl_finish_step', text: FINISH_STEP, values: [...values] })) as pg.QueryResult;
      return (rows[0] as { r: R }).r;
    },
    restore() {
      client.query = original;
    },
  };
}
