import { AppError } from '../ops/errors.js';
import type { AppendResult, NewEvent, Queryable } from './types.js';
import { validateEvents } from './validate.js';

export interface AppendOptions {
  /** The stream's current version must equal this (all events in one stream). */
  readonly expectedVersion?: number;
  /** (Default: 262144) */
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
  const payload = validateEvents(events, options.maxEventBytes ?? 256 * 1024);
  try {
    const { rows } = await db.query<{ out_position: string; out_stream_version: string }>(
      'select out_position, out_stream_version from ledger.append($1::jsonb, $2::bigint)',
      [payload, options.expectedVersion ?? null],
    );
    return rows.map((row) => ({ position: Number(row.out_position), streamVersion: Number(row.out_stream_version) }));
  } catch (error) {
    throw translateAppendError(error);
  }
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
