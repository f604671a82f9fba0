import { createHash } from 'node:crypto';

/**
 * The ledger's hash formula exactly as README.md states it (section "The
 * ledger", "Hash chain"), in plain node:crypto, independent of the SQL
 * functions. When the hash scheme changes, change README_FORMULA (it must
 * appear verbatim in README.md) and `readmeHash` together.
 */
export const README_FORMULA = `  digest = sha256(int64be(stream_version) || lp(utf8(stream_type)) || lp(utf8(stream_id)) || lp(utf8(type))
                  || lp(utf8(metadata::text)) || utf8(data::text))
  root = sha256(digest(block_first) || ... || digest(block_last))
  hash = sha256(prev_hash || int64be(block_first) || int64be(block_last)
                || utf8(recorded_at in UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ) || root)`;

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

const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const int64be = (value: number) => {
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(BigInt(value));
  return buffer;
};
const lp = (bytes: Buffer) => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};
const utf8 = (text: string) => Buffer.from(text, 'utf8');

export function readmeDigest(event: EventText): Buffer {
  return sha256(
    int64be(event.streamVersion),
    lp(utf8(event.streamType)),
    lp(utf8(event.streamId)),
    lp(utf8(event.type)),
    lp(utf8(event.metadataText)),
    utf8(event.dataText),
  );
}

/** The hash of one block: its events in position order, all sharing block_first..block_last and recorded_at. */
export function readmeHash(prevHash: Buffer, block: readonly EventText[]): Buffer {
  const first = block[0]!;
  const last = block[block.length - 1]!;
  const root = sha256(...block.map(readmeDigest));
  return sha256(prevHash, int64be(first.position), int64be(last.position), utf8(first.recordedAt), root);
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
