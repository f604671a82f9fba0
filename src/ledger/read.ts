import { EVENT_ROW_TYPES } from './row-types.js';
import type { DeltaSource, LedgerEvent, Queryable } from './types.js';

export interface ReadOptions {
  /** Events with a position strictly greater than this. (Default: 0) */
  readonly after?: number;
  /** At most this many events. (Default: 1000) */
  readonly limit?: number;
  readonly types?: readonly string[];
  readonly streamType?: string;
  readonly streamId?: string;
  /** Events with a position at most this. */
  readonly until?: number;
}

/** A row as EVENT_ROW_TYPES parses it. */
export interface EventRow {
  position: number;
  stream_type: string;
  stream_id: string;
  stream_version: number;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  recorded_at: string;
}

export const EVENT_COLUMNS = 'position, stream_type, stream_id, stream_version, type, data, metadata, recorded_at';
const READ_RANGE = `select ${EVENT_COLUMNS} from ledger.events_range($1, $2) limit $3`;
const READ_DELTA_SOURCES = 'select position, type, data, recorded_at from ledger.events_range($1, $2)';

/** Reads committed events in position order. */
export async function read(db: Queryable, options: ReadOptions = {}): Promise<LedgerEvent[]> {
  const after = options.after ?? 0;
  const limit = options.limit ?? 1000;
  if ((options.types ?? []).length === 0 && options.streamType === undefined && options.streamId === undefined) {
    // Positions are dense: `limit` events end at after + limit. A prepared
    // statement, so the live stream's and the projector's reads of one or two
    // events are not re-planned each time (sql/000010_plans_kept.sql).
    const { rows } = await db.query<EventRow>({
      name: 'rl_read_range',
      text: READ_RANGE,
      values: [after, options.until ?? after + limit, limit],
      types: EVENT_ROW_TYPES,
    });
    return rows.map(toLedgerEvent);
  }
  const conditions: string[] = [];
  const values: unknown[] = [after];
  const byStream = options.streamType !== undefined || options.streamId !== undefined;
  if (options.types !== undefined && options.types.length > 0) {
    values.push(options.types);
    conditions.push(`type = any($${values.length}::text[])`);
  }
  if (options.streamType !== undefined) {
    values.push(options.streamType);
    conditions.push(`stream_type = $${values.length}`);
  }
  if (options.streamId !== undefined) {
    values.push(options.streamId);
    conditions.push(`stream_id = $${values.length}`);
  }
  let source: string;
  if (byStream) {
    // The stream's index on the bodies finds its few events; then their blocks.
    conditions.unshift('position > $1');
    if (options.until !== undefined) {
      values.push(options.until);
      conditions.push(`position <= $${values.length}`);
    }
    source = 'ledger.events';
  } else {
    values.push(options.until ?? null);
    source = `ledger.events_between($1, $${values.length}::bigint)`;
  }
  values.push(limit);
  const where = conditions.length > 0 ? ` where ${conditions.join(' and ')}` : '';
  const order = byStream ? ' order by position' : '';
  const { rows } = await db.query<EventRow>({
    text: `select ${EVENT_COLUMNS} from ${source}${where}${order} limit $${values.length}`,
    values,
    types: EVENT_ROW_TYPES,
  });
  return rows.map(toLedgerEvent);
}

/**
 * The events in (after, until], with only what the read model derives from
 * them. A prepared statement, as `read`'s unfiltered range: the live stream
 * reads one or two events per notification.
 */
export async function readDeltaSources(db: Queryable, after: number, until: number): Promise<DeltaSource[]> {
  // Rows as arrays: pg then builds no object per row only to copy it into a
  // DeltaSource (reading 1M events through eventToDeltas in a scratch script:
  // 2.63-3.14 against 2.88-3.29 us of Node's CPU per event; a whole replay
  // could not tell the two apart).
  const { rows } = await db.query<[number, string, DeltaSource['data'], string]>({
    name: 'rl_read_delta_sources',
    text: READ_DELTA_SOURCES,
    values: [after, until],
    types: EVENT_ROW_TYPES,
    rowMode: 'array',
  });
  return rows.map(([position, type, data, recordedAt]) => ({ position, type, data, recordedAt }));
}

/** The position of the newest committed event (0 for an empty ledger). */
export async function head(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ head: string | null }>('select max(last_position) as head from ledger.blocks');
  return Number(rows[0]?.head ?? 0);
}

export function toLedgerEvent(row: EventRow): LedgerEvent {
  return {
    position: row.position,
    streamType: row.stream_type,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
  };
}
