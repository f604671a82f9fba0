import type { Queryable } from '../ledger/types.js';

/**
 * The one place runledger reaches into graphile-worker beyond its public API
 * (add_jobs, remove_job, force_unlock_workers, the graphile_worker.jobs view,
 * WorkerUtils), because no public way exists: waking idle workers now rather
 * than at their next poll. Checked against graphile-worker
 * GRAPHILE_WORKER_CHECKED_VERSION: its workers LISTEN on "jobs:insert" and
 * take `{"count": n}` as "n jobs may be ready" (dist/main.js,
 * handleNotification). test/pipelines/graphile-internals.int.test.ts fails
 * when an upgrade changes the version or that notification: re-check this
 * file then.
 */
export const GRAPHILE_WORKER_CHECKED_VERSION = '0.17.3';

/** graphile-worker's own channel for "jobs were added". */
export const JOBS_INSERT_CHANNEL = 'jobs:insert';

/** Wakes idle workers at COMMIT (e.g. after a resume or after releasing a dead worker's steps). */
export async function wakeWorkers(client: Queryable): Promise<void> {
  await client.query('select pg_notify($1, $2)', [JOBS_INSERT_CHANNEL, '{"count":1}']);
}
