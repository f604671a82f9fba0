import pg from 'pg';
import { AppError } from '../ops/errors.js';
import type { AppendResult, NewEvent, Queryable } from './types.js';
import { validateEvents } from './validate.js';

export interface AppendOptions {
  /** The stream's current version must equal this (all events in one stream). */
  readonly expectedVersion?: number;
  /** (Default: 262144) */
  readonly maxEventBytes?: number;
}

// After COMMIT, the sealed block of this session's last append: currval is
// session-local and survives the commit.
const SEALED_FIRST = "select first_position from ledger.blocks where block_id = currval('ledger.block_ids')";

/**
 * Appends events to the ledger, in the order given, as one block.
 *
 * Pass a pool for a transaction of its own: the events are written, then
 * sealed (given positions) at COMMIT, with the ordering lock held only for
 * the commit; begin, append, commit and the position read go in one round
 * trip. Pass a client inside your open transaction so the events commit with
 * your other writes: the block is then sealed at once (to return positions),
 * and the ordering lock is held from this call until that transaction ends,
 * so append as late as you can — or use `appendAndCommit`.
 */
export async function append(
  db: Queryable,
  events: readonly NewEvent[],
  options: AppendOptions = {},
): Promise<AppendResult[]> {
  const payload = validateEvents(events, options.maxEventBytes ?? 256 * 1024);
  if (events.length === 0) return [];
  if (db instanceof pg.Pool) {
    const client = await db.connect();
    let broken: Error | undefined;
    try {
      const sql = `begin; ${appendAtCommitSql(client, payload, options)}; commit; ${SEALED_FIRST}`;
      const results = (await client.query(sql)) as unknown as pg.QueryResult[];
      return toResults(results[3]!.rows[0].first_position, results[1]!.rows[0].v);
    } catch (error) {
      await client.query('rollback').catch((rollbackError: Error) => (broken = rollbackError));
      throw translateAppendError(error);
    } finally {
      client.release(broken);
    }
  }
  try {
    const { rows } = await db.query<AppendRow>(
      'select first_position, stream_versions from ledger.append($1::jsonb, $2::bigint)',
      [payload, options.expectedVersion ?? null],
    );
    return toResults(rows[0]!.first_position, rows[0]!.stream_versions);
  } catch (error) {
    throw translateAppendError(error);
  }
}

/**
 * Appends as the last statement of the caller's open transaction and commits
 * it, in one round trip: the events are written before the commit and sealed
 * by it, so the ordering lock is held only for the commit itself. On error
 * the transaction is left aborted; the caller rolls back.
 */
export async function appendAndCommit(
  client: pg.PoolClient | pg.Client,
  events: readonly NewEvent[],
  options: AppendOptions = {},
): Promise<AppendResult[]> {
  const payload = validateEvents(events, options.maxEventBytes ?? 256 * 1024);
  // Simple query protocol, no bind parameters: the payload travels as an
  // escaped literal.
  const sql = events.length === 0 ? 'commit' : `${appendAtCommitSql(client, payload, options)}; commit; ${SEALED_FIRST}`;
  try {
    const results = (await client.query(sql)) as unknown as pg.QueryResult[];
    if (events.length === 0) return [];
    return toResults(results[2]!.rows[0].first_position, results[0]!.rows[0].v);
  } catch (error) {
    throw translateAppendError(error);
  }
}

function appendAtCommitSql(client: pg.PoolClient | pg.Client, payload: string, options: AppendOptions): string {
  const expected = options.expectedVersion === undefined ? 'null' : String(Math.trunc(options.expectedVersion));
  return `select ledger.append_at_commit(${client.escapeLiteral(payload)}::jsonb, ${expected}::bigint) as v`;
}

interface AppendRow {
  first_position: string;
  stream_versions: string[];
}

function toResults(firstPosition: string, versions: string[]): AppendResult[] {
  const first = Number(firstPosition);
  return versions.map((version, i) => ({ position: first + i, streamVersion: Number(version) }));
}

function translateAppendError(error: unknown): unknown {
  const pgError = error as { code?: string; message?: string };
  if (pgError.code === 'RL409') {
    return new AppError(409, 'version_conflict', pgError.message ?? 'version conflict', {
      field: 'expectedVersion',
      cause: error,
    });
  }
  if (pgError.code === '22023' || pgError.code === '23514' || pgError.code === '22P02') {
    return new AppError(400, 'invalid_event', pgError.message ?? 'invalid event', { field: 'events', cause: error });
  }
  return error;
}
