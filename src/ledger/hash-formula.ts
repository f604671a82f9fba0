import crypto, { createHash } from 'node:crypto';
import { jsonbText, quoteJsonb, type JsonValue } from './jsonb-text.js';

/**
 * The ledger's hash formula in plain Node — the one place outside SQL that
 * knows it (sql/000004_seal_at_commit.sql holds the database's copy, 000001
 * the first scheme's; docs/auditing.md states it). Offline verification of an
 * export (src/audit/verify-file.ts) goes through here only, so a change of
 * scheme is a change of this file.
 *
 * hash_scheme 2 (blocks, ledger.event_digest and ledger.block_hash):
 *   digest = sha256(int8(stream_version) || lp(stream_type) || lp(stream_id) || lp(type)
 *                   || lp(metadata::text) || utf8(data::text)),  lp(s) = int4(octets(utf8 s)) || utf8 s
 *   root   = sha256(digest_first || ... || digest_last)
 *   hash   = sha256(prev_hash || int8(block_first) || int8(block_last)
 *                   || utf8(recorded_at as YYYY-MM-DDTHH:MI:SS.USZ, UTC) || root)
 * hash_scheme 1 (events written before blocks: one-event blocks):
 *   digest = content_digest = sha256(utf8(jsonb_build_array(stream_type, stream_id, type, metadata, data)::text))
 *   hash   = sha256(prev_hash || int8(position) || int8(stream_version)
 *                   || utf8(recorded_at as YYYY-MM-DDTHH:MI:SS.USZ, UTC) || digest)
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
  return sha256(contentText(event));
}

// crypto.hash (Node >= 20.12) hashes in one call, without a Hash object per digest.
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Buffer, encoding: 'buffer') => Buffer }).hash;

function sha256(data: string | Buffer): Buffer {
  return oneShot ? oneShot('sha256', data, 'buffer') : createHash('sha256').update(data).digest();
}

/**
 * The content digest from metadata and data already in PostgreSQL's
 * rendering (as an export carries them): no parsing. When the texts are not
 * exactly that rendering the digest differs, and the caller falls back to
 * `contentDigest` of the parsed values.
 */
export function contentDigestOfTexts(streamType: string, streamId: string, type: string, metadataText: string, dataText: string): Buffer {
  const text = `[${quoteJsonb(streamType)}, ${quoteJsonb(streamId)}, ${quoteJsonb(type)}, ${metadataText}, ${dataText}]`;
  return sha256(text);
}

const numbers = Buffer.alloc(16);

function writeInt8(value: number, offset: number): void {
  // Positions and versions are positive and below 2^53: two 32-bit halves, no BigInt.
  numbers.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset);
  numbers.writeUInt32BE(value >>> 0, offset + 4);
}

export function eventHashOfDigest(
  prevHash: Buffer,
  event: Pick<HashedEvent, 'position' | 'streamVersion' | 'recordedAt'>,
  digest: Buffer,
): Buffer {
  writeInt8(event.position, 0);
  writeInt8(event.streamVersion, 8);
  return sha256(Buffer.concat([prevHash, numbers, Buffer.from(event.recordedAt, 'utf8'), digest]));
}

export function eventHash(prevHash: Buffer, event: HashedEvent): Buffer {
  return eventHashOfDigest(prevHash, event, contentDigest(event));
}

const lengthPrefixed = (text: string): Buffer[] => {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return [length, bytes];
};

/**
 * An event's digest under hash_scheme 2 from metadata and data in
 * PostgreSQL's rendering (`jsonb::text`), as an export carries them.
 */
export function eventDigestOfTexts(
  streamType: string,
  streamId: string,
  streamVersion: number,
  type: string,
  metadataText: string,
  dataText: string,
): Buffer {
  const version = Buffer.alloc(8);
  version.writeBigInt64BE(BigInt(streamVersion));
  return sha256(
    Buffer.concat([
      version,
      ...lengthPrefixed(streamType),
      ...lengthPrefixed(streamId),
      ...lengthPrefixed(type),
      ...lengthPrefixed(metadataText),
      Buffer.from(dataText, 'utf8'),
    ]),
  );
}

/** An event's digest under hash_scheme 2 from parsed values (rendered as PostgreSQL would). */
export function eventDigest(event: Pick<HashedEvent, 'streamType' | 'streamId' | 'streamVersion' | 'type' | 'metadata' | 'data'>): Buffer {
  return eventDigestOfTexts(event.streamType, event.streamId, event.streamVersion, event.type, jsonbText(event.metadata), jsonbText(event.data));
}

/** A block's root: the hash of its events' digests in position order. */
export function blockRoot(digests: readonly Buffer[]): Buffer {
  return sha256(Buffer.concat(digests));
}

/** A block's hash under hash_scheme 2 (ledger.block_hash). */
export function blockHash(prevHash: Buffer, first: number, last: number, recordedAt: string, root: Buffer): Buffer {
  writeInt8(first, 0);
  writeInt8(last, 8);
  return sha256(Buffer.concat([prevHash, numbers, Buffer.from(recordedAt, 'utf8'), root]));
}

/** The SQL that renders `recorded_at` as the formula hashes it (used by the export). */
export const RECORDED_AT_SQL = `to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
