import { createHash } from 'node:crypto';
import { jsonbText, type JsonValue } from './jsonb-text.js';

/**
 * The ledger's hash formula in plain Node — the one place outside SQL that
 * knows it (sql/000001_ledger.sql holds the database's copy; docs/auditing.md
 * states it). Offline verification of an export (src/audit/verify-file.ts)
 * goes through here only, so a change of scheme is a change of this file.
 *
 *   content_digest = sha256(utf8(jsonb_build_array(stream_type, stream_id, type, metadata, data)::text))
 *   hash = sha256(prev_hash || int8(position) || int8(stream_version)
 *                 || utf8(recorded_at as YYYY-MM-DDTHH:MI:SS.USZ, UTC) || content_digest)
 */

/** The `prev_hash` of the first event. */
export const GENESIS_HASH = Buffer.alloc(32);

/** What the formula reads of one event. `recordedAt` is the microsecond UTC text, `2026-01-02T03:04:05.123456Z`. */
export interface HashedEvent {
  readonly position: number;
  readonly streamType: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly type: string;
  readonly recordedAt: string;
  readonly metadata: JsonValue;
  readonly data: JsonValue;
}

/** The canonical text of an event's content, byte for byte what PostgreSQL renders. */
export function contentText(event: Pick<HashedEvent, 'streamType' | 'streamId' | 'type' | 'metadata' | 'data'>): string {
  return jsonbText([event.streamType, event.streamId, event.type, event.metadata, event.data]);
}

export function contentDigest(event: Pick<HashedEvent, 'streamType' | 'streamId' | 'type' | 'metadata' | 'data'>): Buffer {
  return createHash('sha256').update(contentText(event), 'utf8').digest();
}

const numbers = Buffer.alloc(16);

export function eventHash(prevHash: Buffer, event: HashedEvent): Buffer {
  numbers.writeBigInt64BE(BigInt(event.position), 0);
  numbers.writeBigInt64BE(BigInt(event.streamVersion), 8);
  return createHash('sha256')
    .update(prevHash)
    .update(numbers)
    .update(event.recordedAt, 'utf8')
    .update(contentDigest(event))
    .digest();
}

/** The SQL that renders `recorded_at` as the formula hashes it (used by the export). */
export const RECORDED_AT_SQL = `to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
