import type pg from 'pg';
import { AppError } from '../ops/errors.js';
import { appendTimer } from '../ops/metrics/append-timer.js';
import type { AppendResult, NewEvent, Queryable } from './types.js';
import { DEFAULT_MAX_EVENT_BYTES, validateEvents } from './validate.js';

export interface AppendOptions {
  /** The stream's current version must equal this (all events in one stream). */
  readonly expectedVersion?: number;
  /** Largest event accepted, bytes of JSON: pass config.maxEventBytes (RUNLEDGER_MAX_EVENT_BYTES). (Default: 262144) */
  readonly maxEventBytes?: number;
}

/**
 * Appends events to the ledger, in the order given, as one statement.
 *
 * Pass a pool for a transaction of its own, or a client inside your open
 * transaction so the events commit with your other writes. The ledger's
 * ordering lock is held from this call until that transaction ends: append as
 * late as you can, right before COMMIT.
 */
export async function append(
  db: Queryable,
  events: readonly NewEvent[],
  options: AppendOptions = {},
): Promise<AppendResult[]> {
  const payload = validateEvents(events, options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES);
  const done = appendTimer('append');
  try {
    const { rows } = await db.query<AppendRow>(
      'select first_position, stream_versions from ledger.append($1::jsonb, $2::bigint)',
      [payload, options.expectedVersion ?? null],
    );
    return toResults(rows[0]!);
  } catch (error) {
    throw translateAppendError(error);
  } finally {
    done();
  }
}

/**
 * Appends as the last statement of the caller's open transaction and commits
 * it, in one round trip: the ordering lock is held only while the server
 * works, never while a COMMIT travels back from the client. On error the
 * transaction is left aborted; the caller rolls back.
 */
export async function appendAndCommit(
  client: pg.PoolClient | pg.Client,
  events: readonly NewEvent[],
  options: AppendOptions = {},
): Promise<AppendResult[]> {
  const payload = validateEvents(events, options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES);
  const expected = options.expectedVersion === undefined ? 'null' : String(Math.trunc(options.expectedVersion));
  // Two statements in one simple query: no bind parameters, so the payload
  // travels as an escaped literal.
  const sql =
    `select first_position, stream_versions from ledger.append(${client.escapeLiteral(payload)}::jsonb, ${expected}::bigint);` +
    ' commit';
  const done = appendTimer('append_and_commit');
  try {
    const results = (await client.query(sql)) as unknown as pg.QueryResult<AppendRow>[];
    return toResults(results[0]!.rows[0]!);
  } catch (error) {
    throw translateAppendError(error);
  } finally {
    done();
  }
}

interface AppendRow {
  first_position: string;
  stream_versions: string[];
}

function toResults(row: AppendRow): AppendResult[] {
  const first = Number(row.first_position);
  return row.stream_versions.map((version, i) => ({ position: first + i, streamVersion: Number(version) }));
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
