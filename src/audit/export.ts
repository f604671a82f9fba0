import type { Queryable } from '../ledger/types.js';
import { GENESIS_HASH } from '../ledger/hash-formula.js';
import { selectLines } from './event-lines.js';

/** Format version of the first line of an export bundle. */
export const BUNDLE_FORMAT = 'runledger-export/1';

export interface BundleHeader {
  readonly format: typeof BUNDLE_FORMAT;
  /** First position in the bundle. */
  readonly from: number;
  /** Last position in the bundle: the head when the export started, or --to. */
  readonly to: number;
  /** The hash of the block ending at `from - 1` (32 zero bytes when from = 1): the chain continues from it. */
  readonly anchor: { readonly position: number; readonly hash: string };
  readonly exported_at: string;
}

export interface ExportRange {
  /** (Default: 1) */
  readonly from?: number;
  /** (Default: the head when the export starts) */
  readonly to?: number;
}

/**
 * An export bundle: one header line (the chain anchor before `from`), then
 * every event from `from` to `to` as one JSON line each (src/audit/event-lines.ts).
 * The range is widened to whole blocks: `from` to its block's first event,
 * `to` to its block's last.
 * Throws before the first line when the range is not in the ledger.
 */
export async function exportBundle(db: Queryable, range: ExportRange = {}): Promise<AsyncGenerator<string>> {
  if (range.from !== undefined && (!Number.isInteger(range.from) || range.from < 1)) {
    throw new RangeError(`from: must be a whole number >= 1, got ${range.from}`);
  }
  // A bundle holds whole blocks (a block's hash covers all its events): from
  // moves back to the first event of its block, to forward to the last.
  const { rows } = await db.query<{ head: string | null; first: string | null; anchor: Buffer | null; last: string | null }>(
    `select (select max(last_position) from ledger.blocks) as head,
            f.first_position as first, f.prev_hash as anchor,
            (select last_position from ledger.blocks where last_position >= $2 order by last_position limit 1) as last
       from (select 1) one
       left join lateral (select first_position, prev_hash from ledger.blocks
                           where last_position >= $1 order by last_position limit 1) f on true`,
    [range.from ?? 1, range.to ?? 0],
  );
  const row = rows[0]!;
  const head = Number(row.head ?? 0);
  const to = range.to === undefined ? head : range.to;
  if (!Number.isInteger(to) || to > head) throw new RangeError(`to: ${to} is beyond the ledger head ${head}`);
  const requestedFrom = range.from ?? 1;
  if (to < requestedFrom - 1) throw new RangeError(`to: ${to} is before from (${requestedFrom})`);
  const from = row.first === null ? requestedFrom : Math.min(requestedFrom, Number(row.first));
  const anchor = from === 1 ? GENESIS_HASH : row.anchor;
  if (!anchor) throw new RangeError(`from: position ${requestedFrom - 1} is not in the ledger`);
  const last = to < from ? to : Math.max(to, Number(row.last ?? to));
  const header: BundleHeader = {
    format: BUNDLE_FORMAT,
    from,
    to: last,
    anchor: { position: from - 1, hash: anchor.toString('hex') },
    exported_at: new Date().toISOString(),
  };
  return (async function* lines() {
    yield JSON.stringify(header) + '\n';
    yield* selectLines(db, { after: from - 1, to: last });
  })();
}
