import { createHash } from 'node:crypto';
import type { Queryable } from './types.js';

export type VerifyResult =
  | { readonly ok: true; readonly count: number; readonly headHash: string }
  | { readonly ok: false; readonly count: number; readonly position: number; readonly reason: string };

const GENESIS = Buffer.alloc(32);
const PAGE = 10_000;

interface VerifyRow {
  position: string;
  block_first: string;
  block_last: string;
  hash_scheme: number;
  prev_hash: Buffer;
  hash: Buffer;
  digest: Buffer;
  computed: Buffer;
  stream_version: string;
  sealed_at: string;
}

const int8 = (value: number | string) => {
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(BigInt(value));
  return buffer;
};
const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

/**
 * Walks the whole ledger in position order. PostgreSQL recomputes each
 * event's digest from its columns (ledger.event_digest, or for events written
 * before blocks ledger.content_digest: its own renderings of the values); the
 * roots and the chain of hashes are recomputed here, by the formulas in
 * docs/ledger.md. Reports the first event that was altered, removed or
 * reordered (or the first position of a block whose seal was altered).
 */
export async function verify(db: Queryable): Promise<VerifyResult> {
  let expectedPosition = 1;
  let previousHash: Buffer = GENESIS;
  let digests: Buffer[] = [];
  for (;;) {
    const { rows } = await db.query<VerifyRow>(
      `select position, block_first, block_last, hash_scheme, prev_hash, hash, digest, stream_version,
              case hash_scheme when 1 then ledger.content_digest(stream_type, stream_id, type, metadata, data)
                   else ledger.event_digest(stream_type, stream_id, stream_version, type, metadata, data) end as computed,
              to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as sealed_at
         from ledger.events_between($1, $2)`,
      [expectedPosition - 1, expectedPosition - 1 + PAGE],
    );
    for (const row of rows) {
      const position = Number(row.position);
      const count = expectedPosition - 1;
      if (position !== expectedPosition) {
        return { ok: false, count, position: expectedPosition, reason: `missing event: next position found is ${position}` };
      }
      const first = Number(row.block_first);
      if (position === first && !row.prev_hash.equals(previousHash)) {
        return { ok: false, count, position, reason: "prev_hash does not match the previous event's hash" };
      }
      if (!row.computed.equals(row.digest)) {
        return { ok: false, count, position, reason: 'content does not match its hash (the event was altered)' };
      }
      digests.push(row.computed);
      if (position === Number(row.block_last)) {
        const sealed = Buffer.from(row.sealed_at, 'utf8');
        const hash =
          row.hash_scheme === 1
            ? sha256(row.prev_hash, int8(position), int8(row.stream_version), sealed, row.computed)
            : sha256(row.prev_hash, int8(first), int8(position), sealed, sha256(...digests));
        if (!hash.equals(row.hash)) {
          return {
            ok: false,
            count: first - 1,
            position: first,
            reason: 'content does not match its hash (the block starting here was altered)',
          };
        }
        previousHash = row.hash;
        digests = [];
      }
      expectedPosition += 1;
    }
    // A window is (expectedPosition - 1, + PAGE]: a short one may only be
    // missing its last events, so stop at the first empty window.
    if (rows.length === 0) break;
  }
  if (digests.length > 0) {
    return { ok: false, count: expectedPosition - 1 - digests.length, position: expectedPosition, reason: 'missing event: the last block ends early' };
  }
  const count = expectedPosition - 1;
  // A removed tail leaves a valid shorter chain: auditors keep the head hash
  // printed here and compare it with the next run.
  return { ok: true, count, headHash: previousHash.toString('hex') };
}

export function formatVerifyResult(result: VerifyResult): string {
  return result.ok
    ? `ok ${result.count} ${result.headHash}`
    : `bad ${result.position} ${result.reason} (${result.count} events verified before it)`;
}
