// The read side of /api/jobs, in one place: the list and the detail read the
// read model (schema `projection`), live window and archive together, through
// src/projections/queries/ (docs/projections.md).
import type pg from 'pg';
import { read } from '../../ledger/read.js';
import type { LedgerEvent } from '../../ledger/types.js';
import type { JobRow, JobStatus, StepRow } from '../../projections/model.js';
import { getJob as getLiveOrArchived } from '../../projections/queries/get-job.js';
import { listJobs as listLiveAndArchived } from '../../projections/queries/list-jobs.js';
import { readCheckpoint } from '../../projections/tables.js';

export interface JobListFilter {
  readonly status?: readonly string[];
  readonly pipeline?: readonly string[];
  readonly priority?: readonly string[];
  readonly createdAfter?: string;
  readonly createdBefore?: string;
  /** Text the job's input (as JSON text) contains, case-insensitive. */
  readonly q?: string;
}

export interface JobPage {
  readonly data: JobRow[];
  /** Opaque: pass as `cursor` for the next page; null on the last page. */
  readonly next: string | null;
}

/**
 * Jobs matching `filter`, live and archived together, newest first (by the
 * position of their job.created), `limit` at a time: the read model's
 * `listJobs` (src/projections/queries/list-jobs.ts, docs/projections.md).
 */
export async function listJobs(db: pg.Pool, filter: JobListFilter, page: { cursor?: string; limit: number }): Promise<JobPage> {
  const { jobs, nextCursor } = await listLiveAndArchived(db, {
    ...(filter.status?.length ? { status: filter.status as JobStatus[] } : {}),
    ...(filter.pipeline?.length ? { pipeline: filter.pipeline } : {}),
    ...(filter.priority?.length ? { priority: filter.priority } : {}),
    ...(filter.createdAfter !== undefined ? { createdAfter: filter.createdAfter } : {}),
    ...(filter.createdBefore !== undefined ? { createdBefore: filter.createdBefore } : {}),
    ...(filter.q !== undefined ? { q: filter.q } : {}),
    ...(page.cursor !== undefined ? { cursor: page.cursor } : {}),
    limit: page.limit,
  });
  return { data: jobs, next: nextCursor };
}

export interface JobDetail {
  readonly job: JobRow;
  readonly steps: StepRow[];
  /** The job's ledger events, oldest first: what happened, when, where. */
  readonly timeline: { position: number; type: string; at: string; step?: string; attempt?: number; actor?: string }[];
  /** The read model's offset the job and steps are consistent with. */
  readonly offset: number;
}

/** One job, live or archived, with its steps and timeline; null when the read model does not hold it (yet). */
export async function getJob(db: pg.Pool, jobId: string): Promise<JobDetail | null> {
  const [{ position }, detail] = await Promise.all([readCheckpoint(db), getLiveOrArchived(db, { jobId, timelineLimit: 10_000 })]);
  if (!detail) return null;
  const timeline = detail.timeline.map((e) => ({
    position: e.position,
    type: e.type,
    at: e.recordedAt,
    ...(typeof e.data.step === 'string' ? { step: e.data.step } : {}),
    ...(typeof e.data.attempt === 'number' ? { attempt: e.data.attempt } : {}),
    ...(typeof e.metadata.actor === 'string' ? { actor: e.metadata.actor } : {}),
  }));
  return { job: { ...detail.job, archived: detail.archived } as JobRow, steps: detail.steps, timeline, offset: position };
}

/** A job's ledger events after `after`, in position order. */
export const jobEvents = (db: pg.Pool, jobId: string, after: number, limit: number): Promise<LedgerEvent[]> =>
  read(db, { streamType: 'job', streamId: jobId, after, limit });
