import type { Queryable } from '../ledger/types.js';
import { RECORDED_AT_SQL } from '../ledger/hash-formula.js';

/** Which events: every filter is optional; `type` is an exact name or a family, `job.*`. */
export interface EventSelection {
  /** Events with a position strictly greater than this. (Default: 0) */
  readonly after?: number;
  /** Events with a position at most this. */
  readonly to?: number;
  readonly type?: string;
  readonly streamType?: string;
  readonly streamId?: string;
  /** A job's events: the stream `job/<id>`. */
  readonly job?: string;
  /** recorded_at >= fromTime (ISO-8601). */
  readonly fromTime?: string;
  /** recorded_at < toTime (ISO-8601). */
  readonly toTime?: string;
}

export interface LinePage {
  /** One JSON object per event, in position order, without newlines. */
  readonly lines: string[];
  /** Position of the last event of the page (the cursor for the next), or undefined when the page is empty. */
  readonly last: number | undefined;
}

/**
 * Every stored column of an event as one JSON object, rendered by PostgreSQL
 * itself: data and metadata are their exact `jsonb::text` (numbers keep every
 * digit), hashes are hex, `recorded_at` is the microsecond text the hash
 * formula uses; prev_hash and hash are the event's block's, and digest,
 * block_first, block_last and hash_scheme are what offline verification needs
 * to recompute the block (src/ledger/hash-formula.ts).
 */
const LINE_SQL = `'{"position":' || position || ',"stream_type":' || to_json(stream_type)::text
  || ',"stream_id":' || to_json(stream_id)::text || ',"stream_version":' || stream_version
  || ',"type":' || to_json(type)::text || ',"recorded_at":"' || ${RECORDED_AT_SQL} || '"'
  || ',"metadata":' || metadata::text || ',"data":' || data::text
  || ',"prev_hash":"' || encode(prev_hash, 'hex') || '","hash":"' || encode(hash, 'hex')
  || '","digest":"' || encode(digest, 'hex') || '","block_first":' || block_first || ',"block_last":' || block_last
  || ',"hash_scheme":' || hash_scheme || '}'`;

/** One page of selected events as JSON lines, after `after`. */
export async function readLines(db: Queryable, selection: EventSelection, after: number, limit: number): Promise<LinePage> {
  const values: unknown[] = [after, limit];
  // Bounding block_last too lets PostgreSQL read the blocks' index instead of joining the whole view (docs/ledger.md).
  const conditions = ['block_last > $1', 'position > $1'];
  const add = (sql: (placeholder: string) => string, value: unknown) => {
    values.push(value);
    conditions.push(sql(`$${values.length}`));
  };
  if (selection.to !== undefined) add((p) => `position <= ${p}`, selection.to);
  if (selection.type !== undefined) {
    if (selection.type.endsWith('.*')) add((p) => `left(type, length(${p})) = ${p}`, selection.type.slice(0, -1));
    else add((p) => `type = ${p}`, selection.type);
  }
  if (selection.streamType !== undefined) add((p) => `stream_type = ${p}`, selection.streamType);
  if (selection.streamId !== undefined) add((p) => `stream_id = ${p}`, selection.streamId);
  if (selection.job !== undefined) add((p) => `stream_type = 'job' and stream_id = ${p}`, selection.job);
  if (selection.fromTime !== undefined) add((p) => `recorded_at >= ${p}::timestamptz`, selection.fromTime);
  if (selection.toTime !== undefined) add((p) => `recorded_at < ${p}::timestamptz`, selection.toTime);
  const { rows } = await db.query<{ position: string; line: string }>(
    `select position, ${LINE_SQL} as line from ledger.events where ${conditions.join(' and ')} order by block_last, position limit $2`,
    values,
  );
  return { lines: rows.map((row) => row.line), last: rows.length === 0 ? undefined : Number(rows[rows.length - 1]!.position) };
}

/**
 * The selection page by page, each page a string of newline-terminated
 * lines. The next page is read only when the consumer asks for it, so a
 * slow reader holds at most one page in memory.
 */
export async function* selectLines(db: Queryable, selection: EventSelection, pageSize = 2000): AsyncGenerator<string> {
  let after = selection.after ?? 0;
  for (;;) {
    const page = await readLines(db, selection, after, pageSize);
    if (page.last === undefined) return;
    yield page.lines.join('\n') + '\n';
    if (page.lines.length < pageSize) return;
    after = page.last;
  }
}
