import type pg from 'pg';
import { AppError } from '../ops/errors.js';
import { PAUSE_LOCK } from '../ops/locks.js';
import { wakeWorkers } from './graphile-internals.js';
import { appendWithJobs, eventsPayload } from './append-with-jobs.js';
import { withTransaction } from '../ops/transaction.js';
import { queueEvent } from '../events/new-event.js';
import { operatorMetadata, type OperatorOptions } from './operator.js';

// PAUSE_LOCK is taken shared by every step start (pipelines.start_steps),
// exclusively here: once `queue.paused` commits, no step of that pipeline can start.

/**
 * Waits for step starts in flight to commit and holds new ones until this
 * transaction ends. A cancel or a job's final failure takes it, so no
 * `step.started` of that job can land after its `job.cancelled` / `job.failed`.
 */
export async function holdStepStarts(client: pg.PoolClient): Promise<void> {
  await client.query('select pg_advisory_xact_lock($1)', [PAUSE_LOCK]);
}
const ALL = '*';

/**
 * Pauses one pipeline, or everything when `pipeline` is null: no step starts
 * until it is resumed; running steps finish. Appends `queue.paused` (once:
 * pausing what is paused already changes nothing and returns null).
 */
export async function pausePipeline(
  pool: pg.Pool,
  pipeline: string | null,
  options: OperatorOptions & { /** config.maxEventBytes (Default: 262144) */ maxEventBytes?: number } = {},
): Promise<{ position: number } | null> {
  checkName(pipeline);
  return withTransaction(pool, async (client) => {
    await holdStepStarts(client);
    const { rowCount } = await client.query('insert into pipelines.pauses (pipeline, reason) values ($1, $2) on conflict do nothing', [
      pipeline ?? ALL,
      options.reason ?? null,
    ]);
    if (rowCount === 0) return null;
    const data = options.reason === undefined ? { pipeline } : { pipeline, reason: options.reason };
    const metadata = operatorMetadata(options);
    return { position: await appendWithJobs(client, [], eventsPayload([queueEvent('queue.paused', data, metadata)], options.maxEventBytes)) };
  });
}

/** Resumes a paused pipeline (null: lifts the global pause). Appends `queue.resumed`; null if it was not paused. */
export async function resumePipeline(
  pool: pg.Pool,
  pipeline: string | null,
  options: OperatorOptions = {},
): Promise<{ position: number } | null> {
  checkName(pipeline);
  return withTransaction(pool, async (client) => {
    const { rowCount } = await client.query('delete from pipelines.pauses where pipeline = $1', [pipeline ?? ALL]);
    if (rowCount === 0) return null;
    // Wake idle workers at commit rather than at their next poll.
    await wakeWorkers(client);
    const metadata = operatorMetadata(options);
    return { position: await appendWithJobs(client, [], eventsPayload([queueEvent('queue.resumed', { pipeline }, metadata)])) };
  });
}

/** Paused pipeline names; '*' means everything. (Paused queues are rows 'queue:<name>', see pause-queue.ts.) */
export async function pausedPipelines(db: pg.Pool | pg.PoolClient): Promise<string[]> {
  const { rows } = await db.query<{ pipeline: string }>(`select pipeline from pipelines.pauses where pipeline not like 'queue:%' order by pipeline`);
  return rows.map((row) => row.pipeline);
}

function checkName(pipeline: string | null): void {
  if (pipeline !== null && (typeof pipeline !== 'string' || !/^[a-z][a-z0-9_]{0,62}$/.test(pipeline))) {
    throw new AppError(400, 'bad_request', 'pipeline: must be a pipeline name or null for everything', { field: 'pipeline' });
  }
}
