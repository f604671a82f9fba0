import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { append } from '../ledger/append.js';
import { head } from '../ledger/read.js';
import type { Config } from '../ops/config.js';
import { ARCHIVER_LOCK, PROJECTIONS_LOCK_SPACE } from '../ops/locks.js';
import { PROJECTION_SCHEMA, readCheckpoint } from '../projections/tables.js';
import { jobEvent } from '../events/new-event.js';

export type ArchiveConfig = Pick<Config, 'retainFinishedMs' | 'retainMaxJobs'>;

export interface ArchiveOptions {
  /** `job.archived` events per append. (Default: 1000) */
  readonly batchSize?: number;
  /** At most this many jobs per run; a backlog is finished by the next runs. (Default: 100000) */
  readonly maxPerRun?: number;
  /** After each batch, wait at most this long for the projector to apply it before the next, ms. (Default: 30000) */
  readonly waitMs?: number;
  /** Skip the run when the projection is further behind the ledger than this many events. (Default: 100000) */
  readonly maxLag?: number;
}

export interface ArchiveResult {
  /** Jobs this run appended `job.archived` for. */
  readonly archived: number;
  /** Why the run did nothing or stopped early. */
  readonly stopped?: 'busy' | 'projection_behind' | 'projector_not_applying' | 'max_per_run';
}

const FINISHED = `status in ('completed', 'failed', 'cancelled')`;

/**
 * The read model's retention task (graphile-worker crontab, once a minute):
 * appends `job.archived` for finished jobs of the live window that finished
 * longer ago than `retainFinishedMs`, and for the oldest finished jobs beyond
 * the newest `retainMaxJobs`, oldest first, in batches. The projector then
 * moves them to the archive tables. A ledger that never had the task gets its
 * backlog archived batch by batch, `maxPerRun` jobs per run.
 *
 * Reads the live window from the projection; one run at a time cluster-wide
 * (an advisory lock; a second run finds it busy and returns). Jobs archived by
 * events the projector has not applied yet are skipped, so a job is archived
 * once even when the projector is slow.
 */
export async function archiveFinished(pool: pg.Pool, config: ArchiveConfig, options: ArchiveOptions = {}): Promise<ArchiveResult> {
  const { batchSize = 1000, maxPerRun = 100_000, waitMs = 30_000, maxLag = 100_000 } = options;
  const client = await pool.connect();
  let locked = false;
  try {
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [PROJECTIONS_LOCK_SPACE, ARCHIVER_LOCK]);
    locked = rows[0]!.ok;
    if (!locked) return { archived: 0, stopped: 'busy' };
    let archived = 0;
    for (;;) {
      const checkpoint = (await readCheckpoint(client)).position;
      if ((await head(client)) - checkpoint > maxLag) return { archived, stopped: 'projection_behind' };
      if (archived >= maxPerRun) return { archived, stopped: 'max_per_run' };
      const jobs = await candidates(client, config, checkpoint, Math.min(batchSize, maxPerRun - archived));
      if (jobs.length === 0) return { archived };
      const results = await append(
        client,
        jobs.map((job) => jobEvent('job.archived', { jobId: job.id, pipeline: job.pipeline, reason: job.reason }, { actor: 'retention' })),
      );
      archived += jobs.length;
      const last = results[results.length - 1]!.position;
      const deadline = Date.now() + waitMs;
      while ((await readCheckpoint(client)).position < last) {
        if (Date.now() > deadline) return { archived, stopped: 'projector_not_applying' };
        await sleep(50);
      }
    }
  } finally {
    if (locked) await client.query('select pg_advisory_unlock($1, $2)', [PROJECTIONS_LOCK_SPACE, ARCHIVER_LOCK]).catch(() => {});
    client.release();
  }
}

interface Candidate {
  readonly id: string;
  readonly pipeline: string;
  readonly reason: 'retention' | 'max_jobs';
}

/**
 * The next finished jobs to archive, oldest first: those past the retention
 * time, and the oldest beyond the newest `retainMaxJobs`. Jobs already named
 * by a `job.archived` event after the checkpoint are left out (only the
 * projector's lag is read from the ledger).
 */
async function candidates(db: pg.PoolClient, config: ArchiveConfig, checkpoint: number, limit: number): Promise<Candidate[]> {
  const { rows } = await db.query<{ id: string; pipeline: string; expired: boolean; rank: string; n: string }>(
    `with pending as (
       select data->>'jobId' as id from ledger.events_between($1) where type = 'job.archived'
     ), live as (
       select id, pipeline, finished_at from ${PROJECTION_SCHEMA}.jobs
        where ${FINISHED} and pipeline is not null and id not in (select id from pending where id is not null)
     ), total as (select count(*) as n from live)
     select id, pipeline, coalesce(finished_at < now() - make_interval(secs => $2::float8 / 1000), false) as expired,
            row_number() over (order by finished_at nulls last, id) as rank, (select n from total) as n
       from (select * from live order by finished_at nulls last, id limit $3) oldest`,
    [checkpoint, config.retainFinishedMs, limit],
  );
  if (rows.length === 0) return [];
  const total = Number(rows[0]!.n);
  const excess = total - config.retainMaxJobs;
  const out: Candidate[] = [];
  for (const row of rows) {
    const beyondMax = Number(row.rank) <= excess;
    if (!row.expired && !beyondMax) continue;
    out.push({ id: row.id, pipeline: row.pipeline, reason: row.expired ? 'retention' : 'max_jobs' });
  }
  return out;
}
