import pg from 'pg';
import { AppError } from '../ops/errors.js';
import { appendTimer } from '../ops/metrics/append-timer.js';
import { appendGate } from '../ops/pool.js';
import type { AppendResult, NewEvent, Queryable } from './types.js';
import { DEFAULT_MAX_EVENT_BYTES, validateEvents } from './validate.js';

export interface AppendOptions {
  /** The stream's current version must equal this (all events in one stream). */
  readonly expectedVersion?: number;
  /** Largest event accepted, bytes of JSON: pass config.maxEventBytes (RUNLEDGER_MAX_EVENT_BYTES). (Default: 262144) */
  readonly maxEventBytes?: number;
}

// After COMMIT, where the block this session wrote last starts (by its id,
// from the session-local currval of ledger.block_ids, which survives the
// commit; sql/000009_append_speed.sql).
const SEALED_FIRST = 'select ledger.sealed_first_position() as first_position';
const APPEND_AT_COMMIT = 'select ledger.append_at_commit($1::jsonb, $2::bigint) as v';
// Up to this many characters the payload goes inline, as a literal, so that
// the append and its COMMIT take one round trip; beyond it, PostgreSQL's
// scanning of a literal costs more than a second round trip (3x a bind
// parameter at 2 MB).
export const INLINE_LIMIT = 64 * 1024;

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
  const payload = validateEvents(events, options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES);
  if (events.length === 0) return [];
  const done = appendTimer('append');
  // At most the pool's appendsAtOnce of these transactions open at once (src/ops/pool.ts says why).
  if (db instanceof pg.Pool) return appendGate(db).run(() => appendInOwnTransaction(db, payload, options)).finally(done);
  try {
    const { rows } = await db.query<AppendRow>(
      'select first_position, stream_versions from ledger.append($1::jsonb, $2::bigint)',
      [payload, options.expectedVersion ?? null],
    );
    return toResults(rows[0]!.first_position, rows[0]!.stream_versions);
  } catch (error) {
    throw translateAppendError(error);
  } finally {
    done();
  }
}

/** `append(pool, …)`: a transaction of its own, sealed at its COMMIT, positions read back. */
async function appendInOwnTransaction(pool: pg.Pool, payload: string, options: AppendOptions): Promise<AppendResult[]> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    if (payload.length <= INLINE_LIMIT) {
      const sql = `begin; ${appendAtCommitSql(payload, options)}; commit; ${SEALED_FIRST}`;
      const results = (await client.query(sql)) as unknown as pg.QueryResult[];
      return toResults(results[3]!.rows[0].first_position, results[1]!.rows[0].v);
    }
    // A large payload travels as a bind parameter; the statement commits
    // (and seals) on its own, then the positions are read.
    const { rows } = await client.query(APPEND_AT_COMMIT, [payload, options.expectedVersion ?? null]);
    const sealed = await client.query(SEALED_FIRST);
    return toResults(sealed.rows[0].first_position, rows[0].v);
  } catch (error) {
    await client.query('rollback').catch((rollbackError: Error) => (broken = rollbackError));
    throw translateAppendError(error);
  } finally {
    client.release(broken);
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
  const payload = validateEvents(events, options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES);
  const done = appendTimer('append_and_commit');
  try {
    if (events.length === 0) {
      await client.query('commit');
      return [];
    }
    if (payload.length <= INLINE_LIMIT) {
      // One round trip: the append, its COMMIT and the sealed positions.
      const results = (await client.query(`${appendAtCommitSql(payload, options)}; commit; ${SEALED_FIRST}`)) as unknown as pg.QueryResult[];
      return toResults(results[2]!.rows[0].first_position, results[0]!.rows[0].v);
    }
    const { rows } = await client.query(APPEND_AT_COMMIT, [payload, options.expectedVersion ?? null]);
    const results = (await client.query(`commit; ${SEALED_FIRST}`)) as unknown as pg.QueryResult[];
    return toResults(results[1]!.rows[0].first_position, rows[0].v);
  } catch (error) {
    throw translateAppendError(error);
  } finally {
    done();
  }
}

function appendAtCommitSql(payload: string, options: AppendOptions): string {
  const expected = options.expectedVersion === undefined ? 'null' : String(Math.trunc(options.expectedVersion));
  return `select ledger.append_at_commit(${literal(payload)}::jsonb, ${expected}::bigint) as v`;
}

/**
 * An SQL string literal, as pg's escapeLiteral writes it (E'' with doubled
 * backslashes when there is one; quotes doubled) but with native replaces:
 * pg's character loop took 0.85 s for a 2 MB payload.
 */
export function literal(text: string): string {
  const quoted = text.replace(/'/g, "''");
  return text.includes('\\') ? ` E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
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
