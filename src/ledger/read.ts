import type { LedgerEvent, Queryable } from './types.js';

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

export interface EventRow {
  position: string;
  stream_type: string;
  stream_id: string;
  stream_version: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  recorded_at: Date;
}

export const EVENT_COLUMNS = 'position, stream_type, stream_id, stream_version, type, data, metadata, recorded_at';

/** Reads committed events in position order. */
export async function read(db: Queryable, options: ReadOptions = {}): Promise<LedgerEvent[]> {
  // block_last/block_first bound the blocks, so the scan starts at `after`
  // in the blocks' index instead of joining the whole ledger (see the view in
  // sql/000004_seal_at_commit.sql).
  const conditions = ['block_last > $1', 'position > $1'];
  const values: unknown[] = [options.after ?? 0];
  if (options.until !== undefined) {
    values.push(options.until);
    conditions.push(`block_first <= $${values.length}`, `position <= $${values.length}`);
  }
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
  values.push(options.limit ?? 1000);
  const { rows } = await db.query<EventRow>(
    `select ${EVENT_COLUMNS} from ledger.events where ${conditions.join(' and ')} order by block_last, position limit $${values.length}`,
    values,
  );
  return rows.map(toLedgerEvent);
}

/** The position of the newest committed event (0 for an empty ledger). */
export async function head(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ head: string | null }>('select max(last_position) as head from ledger.blocks');
  return Number(rows[0]?.head ?? 0);
}

export function toLedgerEvent(row: EventRow): LedgerEvent {
  return {
    position: Number(row.position),
    streamType: row.stream_type,
    streamId: row.stream_id,
    streamVersion: Number(row.stream_version),
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at.toISOString(),
  };
}
