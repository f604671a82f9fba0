import type pg from 'pg';
import { literal } from '../ledger/append.js';
import { DEFAULT_MAX_EVENT_BYTES, validateEvents } from '../ledger/validate.js';
import type { NewEvent, Queryable } from '../ledger/types.js';
import { appendTimer } from '../ops/metrics/append-timer.js';
import type { JobSpec } from './step-spec.js';

// Every write of the pipelines area ends here: step jobs (possibly none) for
// graphile-worker and the events that record them (or any other events: worker,
// pause, alert, cancel), in one statement, `pipelines.commit_step` in SQL.

/** The JSON array `ledger.append()` takes, checked like `append()` checks it (maxEventBytes: config.maxEventBytes). */
export const eventsPayload = (events: readonly NewEvent[], maxEventBytes = DEFAULT_MAX_EVENT_BYTES): string =>
  events.length === 0 ? '[]' : validateEvents(events, maxEventBytes);

/**
 * The last statement of a transaction that queues steps: add_jobs, then the
 * append (the ledger lock is held from there to COMMIT). Returns the position
 * of the first event.
 */
export async function appendWithJobs(client: Queryable, specs: readonly JobSpec[], eventsJson: string): Promise<number> {
  const done = appendTimer('append_with_jobs');
  const { rows } = await client
    .query<{ position: string }>('select pipelines.commit_step($1::json, $2::jsonb) as position', [JSON.stringify(specs), eventsJson])
    .finally(done);
  return Number(rows[0]!.position);
}

/**
 * `appendWithJobs` and COMMIT in one round trip (simple query protocol, values
 * inlined as literals). The events are sealed by that COMMIT (no position is
 * returned): the ledger lock is held only for the commit itself.
 */
export async function appendWithJobsAndCommit(client: pg.PoolClient, specs: readonly JobSpec[], eventsJson: string): Promise<void> {
  const done = appendTimer('append_with_jobs_and_commit');
  await client
    .query(`select pipelines.commit_step(${literal(JSON.stringify(specs))}::json, ${literal(eventsJson)}::jsonb, true); commit`)
    .finally(done);
}
