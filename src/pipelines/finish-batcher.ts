import type pg from 'pg';
import { batched } from '../ops/batched.js';
import { literal } from '../ledger/append.js';
import { appendWithJobsAndCommit } from './append-with-jobs.js';
import type { JobSpec } from './step-spec.js';

/** What `pipelines.finish_step` answers (sql/000002_pipelines.sql). */
export interface FinishResult {
  readonly status: string;
  readonly ready: string[];
  readonly bytes: Record<string, number>;
  readonly completed: boolean;
  readonly durationMs: number;
}

export type FinishValues = readonly [jobId: string, step: string, attempt: number, workerId: string, output: string, outputBytes: number];

/** A step whose handler is done and never used its transaction. */
export interface FinishItem {
  readonly values: FinishValues;
  /** A connection of the step's, idle, outside any transaction; the batch may run on it. */
  readonly client: pg.PoolClient;
  /** Once finish_step said ok: the steps to queue and the events (a JSON array) to append. */
  readonly outcome: (finish: FinishResult) => { specs: readonly JobSpec[]; eventsJson: string };
}

/**
 * Step transactions of handlers that never touched `ctx.db`, committed
 * together (ops/batched.ts): one commit under the ledger's ordering lock for
 * the steps finishing at the same time. A step's effects are the same as
 * alone: finish_step, in job order so two batches cannot deadlock, then its
 * outcome's jobs and events; a step whose finish_step is not ok wrote
 * nothing and adds nothing. A failed batch is tried again step by step.
 */
export function finishBatcher(): (item: FinishItem) => Promise<FinishResult> {
  return batched({
    name: 'step_finish',
    together: commitTogether,
    alone: async (item: FinishItem) => (await commitTogether([item]))[0]!,
    order: (a, b) => (a.values[0] < b.values[0] ? -1 : a.values[0] > b.values[0] ? 1 : 0),
  });
}

/** Two round trips on the first item's connection: begin and every finish_step; then the jobs, the events and commit. */
async function commitTogether(items: readonly FinishItem[]): Promise<FinishResult[]> {
  const client = items[0]!.client;
  try {
    const finishes = items.map(({ values: [jobId, step, attempt, workerId, output, outputBytes] }) =>
      `select pipelines.finish_step(${literal(jobId)}, ${literal(step)}, ${Math.trunc(attempt)}, ${literal(workerId)}, ` +
      `${literal(output)}::jsonb, ${Math.trunc(outputBytes)}) as r`,
    );
    const answered = (await client.query(`begin; ${finishes.join('; ')}`)) as unknown as pg.QueryResult<{ r: FinishResult }>[];
    const results = answered.slice(1).map((answer) => answer.rows[0]!.r);
    const specs: JobSpec[] = [];
    const events: string[] = [];
    results.forEach((result, i) => {
      if (result.status !== 'ok') return;
      const outcome = items[i]!.outcome(result);
      specs.push(...outcome.specs);
      if (outcome.eventsJson !== '[]') events.push(outcome.eventsJson.slice(1, -1));
    });
    if (events.length === 0 && specs.length === 0) {
      await client.query('rollback');
      return results;
    }
    await appendWithJobsAndCommit(client, specs, `[${events.join(',')}]`);
    return results;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}
