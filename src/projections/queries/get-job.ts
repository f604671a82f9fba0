import { read } from '../../ledger/read.js';
import type { LedgerEvent, Queryable } from '../../ledger/types.js';
import { invalidFilter } from './invalid-filter.js';
import type { JobRow, StepRow } from '../model.js';
import { ARCHIVE_TABLES, PROJECTION_SCHEMA, TABLE_SPECS, rowFromDb, selectColumns } from '../tables.js';
import { inReadSnapshot } from './read-snapshot.js';

export interface GetJobFilter {
  readonly jobId: string;
  /** Events of the job's ledger stream to return, oldest first. (Default: 1000, at most 10000) */
  readonly timelineLimit?: number;
}

export interface JobDetail {
  /** The job as the read model holds it (docs/projections.md, `JobRow`). */
  readonly job: JobRow;
  /** Its steps (latest attempt each), in the pipeline's definition order. */
  readonly steps: StepRow[];
  /** True when the job has left the live window for the archive tables. */
  readonly archived: boolean;
  /** The job's ledger stream (`job/<jobId>`): every event about it, in position order, up to `timelineLimit`. */
  readonly timeline: LedgerEvent[];
}

/**
 * One job with its steps and timeline, from the live tables or, once
 * archived, from the archive tables; undefined when neither holds it. Job and
 * steps are read in one snapshot (see inReadSnapshot).
 */
export async function getJob(db: Queryable, filter: GetJobFilter, schema = PROJECTION_SCHEMA): Promise<JobDetail | undefined> {
  const { jobId } = filter;
  if (typeof jobId !== 'string' || jobId === '' || jobId.length > 200) throw invalidFilter('jobId', 'must be a string of 1 to 200 characters');
  const timelineLimit = filter.timelineLimit ?? 1000;
  if (!Number.isInteger(timelineLimit) || timelineLimit < 1 || timelineLimit > 10_000) {
    throw invalidFilter('timelineLimit', 'must be a whole number from 1 to 10000');
  }
  const s = `"${schema.replaceAll('"', '""')}"`;
  return inReadSnapshot(db, async (client) => {
    const { rows } = await client.query<Record<string, unknown> & { archived: boolean }>(
      `select ${selectColumns('job')}, false as archived from ${s}.${TABLE_SPECS.job.table} where id = $1
       union all
       select ${selectColumns('job')}, true as archived from ${s}.${ARCHIVE_TABLES.job} where id = $1
       limit 1`,
      [jobId],
    );
    const found = rows[0];
    if (!found) return undefined;
    const job = rowFromDb('job', found) as unknown as JobRow;
    const { rows: stepRows } = await client.query<Record<string, unknown>>(
      `select ${selectColumns('step')} from ${s}.${found.archived ? ARCHIVE_TABLES.step : TABLE_SPECS.step.table} where job_id = $1`,
      [jobId],
    );
    const order = new Map(job.steps.map((name, index) => [name, index]));
    const steps = stepRows
      .map((row) => rowFromDb('step', row) as unknown as StepRow)
      .sort((a, b) => (order.get(a.step) ?? Infinity) - (order.get(b.step) ?? Infinity) || (a.step < b.step ? -1 : 1));
    const timeline = await read(client, { streamType: 'job', streamId: jobId, limit: timelineLimit });
    return { job, steps, archived: found.archived, timeline };
  });
}
