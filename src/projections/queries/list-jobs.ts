import type { Queryable } from '../../ledger/types.js';
import { invalidFilter } from './invalid-filter.js';
import type { JobRow, JobStatus } from '../model.js';
import { ARCHIVE_TABLES, PROJECTION_SCHEMA, TABLE_SPECS, rowFromDb, selectColumns } from '../tables.js';

export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled'];

export interface ListJobsFilter {
  /** One status or several. */
  readonly status?: JobStatus | readonly JobStatus[];
  /** One pipeline or several. */
  readonly pipeline?: string | readonly string[];
  /** `high`, `normal` or `background`, or several. */
  readonly priority?: string | readonly string[];
  /** ISO-8601 time: jobs created at or after it. */
  readonly createdAfter?: string;
  /** ISO-8601 time: jobs created before it. */
  readonly createdBefore?: string;
  /** Text the job's input (the `input` of its `job.created` event, as JSON) contains, case-insensitive. */
  readonly q?: string;
  /** `live`: the live window only; `archive`: archived jobs only. (Default: all) */
  readonly scope?: 'all' | 'live' | 'archive';
  /** Page size. (Default: 50, at most 500) */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
  /** With `q`: how many jobs (newest first, after the other filters) one call examines at most. (Default: 5000, at most 50000) */
  readonly searchScan?: number;
}

export interface ListedJob extends JobRow {
  /** True when the job is in the archive tables, not the live window. */
  readonly archived: boolean;
}

export interface JobsPage {
  /** Newest first (by the ledger offset of `job.created`). */
  readonly jobs: ListedJob[];
  /**
   * Pass as `cursor` for the next page; null when there is nothing more. With
   * `q`, a page may hold fewer than `limit` jobs (even none) and still have a
   * cursor: the search examined `searchScan` jobs and stopped there.
   */
  readonly nextCursor: string | null;
}

interface Parsed {
  readonly where: string[];
  readonly values: unknown[];
  readonly limit: number;
  readonly scope: 'all' | 'live' | 'archive';
  readonly q: string | undefined;
  readonly searchScan: number;
}

/**
 * Lists jobs from the live window and the archive together, newest first,
 * a page at a time (keyset pagination on the `job.created` offset, so every
 * page costs the same however long the ledger is). Each table is read
 * through its indexes and the two are merged; jobs the ledger never created
 * (only stray step events) are not listed. Bad filters throw an AppError
 * (400) naming the field.
 */
export async function listJobs(db: Queryable, filter: ListJobsFilter = {}, schema = PROJECTION_SCHEMA): Promise<JobsPage> {
  const parsed = parseFilter(filter);
  const s = `"${schema.replaceAll('"', '""')}"`;
  const tables = [
    ...(parsed.scope === 'archive' ? [] : [{ table: `${s}.${TABLE_SPECS.job.table}`, archived: false }]),
    ...(parsed.scope === 'live' ? [] : [{ table: `${s}.${ARCHIVE_TABLES.job}`, archived: true }]),
  ];
  const where = parsed.where.join(' and ');
  if (parsed.q === undefined) {
    const values = [...parsed.values, parsed.limit + 1];
    const limit = `$${values.length}`;
    const branches = tables.map(
      ({ table, archived }) => `(select ${selectColumns('job')}, ${archived} as archived from ${table} where ${where} order by created_offset desc limit ${limit})`,
    );
    const { rows } = await db.query<Record<string, unknown>>(
      `select * from (${branches.join(' union all ')}) j order by created_offset desc limit ${limit}`,
      values,
    );
    const jobs = rows.slice(0, parsed.limit).map(toListed);
    return { jobs, nextCursor: rows.length > parsed.limit ? cursorOf(jobs.at(-1)!.createdOffset!) : null };
  }

  // Search: examine at most `searchScan` jobs (newest first) per call, so a rare term never scans all history at once.
  const values = [...parsed.values, parsed.searchScan, `%${escapeLike(parsed.q)}%`, parsed.limit + 1];
  const [scan, pattern, limit] = [`$${values.length - 2}`, `$${values.length - 1}`, `$${values.length}`];
  const branches = tables.map(
    ({ table, archived }) => `(select id, created_offset, ${archived} as archived from ${table} where ${where} order by created_offset desc limit ${scan})`,
  );
  const { rows } = await db.query<{ scanned: string; floor: string | null; matches: { id: string; created_offset: number; archived: boolean }[] }>(
    `with examined as (select * from (${branches.join(' union all ')}) k order by created_offset desc limit ${scan}),
          matches as (
            select x.id, x.created_offset, x.archived from examined x
              cross join lateral ledger.events_between(x.created_offset - 1, x.created_offset) e
             where (e.data->'input')::text ilike ${pattern} order by x.created_offset desc limit ${limit})
     select count(*) as scanned, min(created_offset) as floor,
            (select coalesce(json_agg(m order by m.created_offset desc), '[]') from matches m) as matches
       from examined`,
    values,
  );
  const { scanned, floor, matches } = rows[0]!;
  const jobs = await readListed(db, s, matches.slice(0, parsed.limit));
  let nextCursor: string | null = null;
  if (matches.length > parsed.limit) nextCursor = cursorOf(jobs.at(-1)!.createdOffset!);
  else if (Number(scanned) >= parsed.searchScan) nextCursor = cursorOf(Number(floor));
  return { jobs, nextCursor };
}

async function readListed(db: Queryable, s: string, keys: readonly { id: string; archived: boolean }[]): Promise<ListedJob[]> {
  if (keys.length === 0) return [];
  const { rows } = await db.query<Record<string, unknown>>(
    `select * from (
       select ${selectColumns('job')}, false as archived from ${s}.${TABLE_SPECS.job.table} where id = any($1::text[])
       union all
       select ${selectColumns('job')}, true as archived from ${s}.${ARCHIVE_TABLES.job} where id = any($2::text[])
     ) j order by created_offset desc`,
    [keys.filter((k) => !k.archived).map((k) => k.id), keys.filter((k) => k.archived).map((k) => k.id)],
  );
  return rows.map(toListed);
}

function toListed(row: Record<string, unknown>): ListedJob {
  return { ...(rowFromDb('job', row) as unknown as JobRow), archived: row.archived as boolean };
}

const cursorOf = (createdOffset: number) => Buffer.from(`o:${createdOffset}`).toString('base64url');

function parseCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString();
  const match = /^o:(\d{1,18})$/.exec(text);
  if (!match) throw invalidFilter('cursor', 'is not a cursor this API returned');
  return Number(match[1]);
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

function parseTime(field: string, value: unknown): string {
  if (typeof value !== 'string' || !Number.isFinite(Date.parse(value))) throw invalidFilter(field, 'must be an ISO-8601 time');
  return new Date(Date.parse(value)).toISOString();
}

function parseFilter(filter: ListJobsFilter): Parsed {
  const where: string[] = ['created_offset is not null'];
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.status !== undefined) {
    const statuses = typeof filter.status === 'string' ? [filter.status] : filter.status;
    if (!Array.isArray(statuses) || statuses.length === 0 || statuses.some((st) => !JOB_STATUSES.includes(st))) {
      throw invalidFilter('status', `must be one or more of ${JOB_STATUSES.join(', ')}`);
    }
    where.push(`status = any(${param(statuses)}::text[])`);
  }
  for (const field of ['pipeline', 'priority'] as const) {
    const value = filter[field];
    if (value === undefined) continue;
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || list.length === 0 || list.some((v) => typeof v !== 'string' || v === '' || v.length > 200)) {
      throw invalidFilter(field, 'must be one or more strings of 1 to 200 characters');
    }
    where.push(`${field} = any(${param(list)}::text[])`);
  }
  if (filter.createdAfter !== undefined) where.push(`created_at >= ${param(parseTime('createdAfter', filter.createdAfter))}::timestamptz`);
  if (filter.createdBefore !== undefined) where.push(`created_at < ${param(parseTime('createdBefore', filter.createdBefore))}::timestamptz`);
  if (filter.cursor !== undefined) {
    if (typeof filter.cursor !== 'string') throw invalidFilter('cursor', 'must be a string');
    where.push(`created_offset < ${param(parseCursor(filter.cursor))}`);
  }
  const limit = filter.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw invalidFilter('limit', 'must be a whole number from 1 to 500');
  const scope = filter.scope ?? 'all';
  if (!['all', 'live', 'archive'].includes(scope)) throw invalidFilter('scope', 'must be all, live or archive');
  const searchScan = filter.searchScan ?? 5000;
  if (!Number.isInteger(searchScan) || searchScan < 1 || searchScan > 50_000) throw invalidFilter('searchScan', 'must be a whole number from 1 to 50000');
  let q: string | undefined;
  if (filter.q !== undefined) {
    if (typeof filter.q !== 'string' || filter.q.length === 0 || filter.q.length > 200) throw invalidFilter('q', 'must be a string of 1 to 200 characters');
    q = filter.q;
  }
  return { where, values, limit, scope, q, searchScan };
}
