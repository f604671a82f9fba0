import { createHash } from 'node:crypto';
import type { Queryable } from './types.js';

export type VerifyResult =
  | { readonly ok: true; readonly count: number; readonly headHash: string }
  | { readonly ok: false; readonly count: number; readonly position: number; readonly reason: string };

const GENESIS = Buffer.alloc(32);
const PAGE = 10_000;

export interface VerifyOptions {
  /** Trust the stored hash of the block ending at this position and verify only what follows (incremental audits). (Default: 0) */
  readonly from?: number;
  /** A saved checkpoint: the recomputed chain must pass through exactly this hash at this position (a block's last). */
  readonly checkpoint?: { readonly position: number; readonly hash: string };
  /** Called after every page with the events verified so far and the last position. */
  readonly onProgress?: (count: number, position: number) => void;
}

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
export async function verify(db: Queryable, options: VerifyOptions = {}): Promise<VerifyResult> {
  let from = options.from ?? 0;
  let previousHash: Buffer = GENESIS;
  const checkpoint = options.checkpoint;
  if (checkpoint && checkpoint.position <= from) {
    return { ok: false, count: 0, position: checkpoint.position, reason: `--from ${from} starts after the checkpoint's position ${checkpoint.position}` };
  }
  if (from > 0) {
    // The end of a block: trust its hash. A position inside a block starts
    // the audit at that block's first event, chained from its stored prev_hash.
    const { rows } = await db.query<{ first_position: string; last_position: string; prev_hash: Buffer; hash: Buffer }>(
      'select first_position, last_position, prev_hash, hash from ledger.blocks where last_position >= $1 order by last_position limit 1',
      [from],
    );
    const block = rows[0];
    if (!block || Number(block.first_position) > from) {
      return { ok: false, count: 0, position: from, reason: `--from: position ${from} is not in the ledger` };
    }
    if (Number(block.last_position) === from) {
      previousHash = block.hash;
    } else {
      from = Number(block.first_position) - 1;
      previousHash = block.prev_hash;
    }
  }
  let expectedPosition = from + 1;
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
      const count = expectedPosition - 1 - from;
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
            count: first - 1 - from,
            position: first,
            reason: 'content does not match its hash (the block starting here was altered)',
          };
        }
        if (checkpoint && checkpoint.position >= first && checkpoint.position <= position) {
          if (checkpoint.position !== position || row.hash.toString('hex') !== checkpoint.hash) {
            return { ok: false, count: first - 1 - from, position: checkpoint.position, reason: 'the chain differs from the saved checkpoint here: history up to it was rewritten' };
          }
        }
        previousHash = row.hash;
        digests = [];
      }
      expectedPosition += 1;
    }
    options.onProgress?.(expectedPosition - 1 - from, expectedPosition - 1);
    // A window is (expectedPosition - 1, + PAGE]: a short one may only be
    // missing its last events, so stop at the first empty window.
    if (rows.length === 0) break;
  }
  if (digests.length > 0) {
    return { ok: false, count: expectedPosition - 1 - from - digests.length, position: expectedPosition, reason: 'missing event: the last block ends early' };
  }
  const count = expectedPosition - 1 - from;
  if (checkpoint && checkpoint.position >= expectedPosition) {
    return { ok: false, count, position: checkpoint.position, reason: `the ledger ends at ${expectedPosition - 1}, before the checkpoint's position ${checkpoint.position}: its tail was removed` };
  }
  // A removed tail leaves a valid shorter chain: auditors keep the head hash
  // printed here and compare it with the next run.
  return { ok: true, count, headHash: previousHash.toString('hex') };
}

export function formatVerifyResult(result: VerifyResult): string {
  return result.ok
    ? `ok ${result.count} ${result.headHash}`
    : `bad ${result.position} ${result.reason} (${result.count} events verified before it)`;
}
