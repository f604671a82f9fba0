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
    const { rows } = await db.query<{ first_position: string; stream_versions: string[] }>(
      'select first_position, stream_versions from ledger.append($1::jsonb, $2::bigint)',
      [payload, options.expectedVersion ?? null],
    );
    const first = Number(rows[0]!.first_position);
    return rows[0]!.stream_versions.map((version, i) => ({ position: first + i, streamVersion: Number(version) }));
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
