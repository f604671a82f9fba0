import { createHash } from 'node:crypto';

/**
 * The ledger's hash formula exactly as README.md states it (section "The
 * ledger", "Hash chain"), in plain node:crypto, independent of the SQL
 * functions. When the hash scheme changes, change README_FORMULA (it must
 * appear verbatim in README.md) and `readmeHash` together.
 */
export const README_FORMULA = `  content_digest = sha256(utf8("[" + json(stream_type) + ", " + json(stream_id) + ", " + json(type) + ", "
                                   + metadata::text + ", " + data::text + "]"))
  hash = sha256(prev_hash || int64be(position) || int64be(stream_version)
                || utf8(recorded_at in UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ) || content_digest)`;

/** One event as an auditor reads it: jsonb columns as PostgreSQL's text, recorded_at as YYYY-MM-DDTHH:MM:SS.ffffffZ. */
export interface EventText {
  readonly position: number;
  readonly streamType: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly type: string;
  readonly metadataText: string;
  readonly dataText: string;
  readonly recordedAt: string;
}

export function readmeHash(prevHash: Buffer, event: EventText): Buffer {
  const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
  const int64be = (value: number) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64BE(BigInt(value));
    return buffer;
  };
  const json = JSON.stringify;
  const contentDigest = sha256(
    Buffer.from(`[${json(event.streamType)}, ${json(event.streamId)}, ${json(event.type)}, ${event.metadataText}, ${event.dataText}]`, 'utf8'),
  );
  return sha256(prevHash, int64be(event.position), int64be(event.streamVersion), Buffer.from(event.recordedAt, 'utf8'), contentDigest);
}

/**
 * PostgreSQL's jsonb text rendering of a parsed JSON value, as the README
 * describes it: keys by byte length then bytewise, ", " and ": " separators.
 * (Numbers are rendered by JSON.stringify: right for the integers and short
 * decimals the tests use, not for exponents.)
 */
export function jsonbText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jsonbText).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort(
      (a, b) => Buffer.byteLength(a) - Buffer.byteLength(b) || Buffer.compare(Buffer.from(a), Buffer.from(b)),
    );
    return `{${keys.map((key) => `${JSON.stringify(key)}: ${jsonbText((value as Record<string, unknown>)[key])}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}
