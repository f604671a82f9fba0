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
  /** The hash of the event before `from` (32 zero bytes when from = 1): the chain continues from it. */
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
 * Throws before the first line when the range is not in the ledger.
 */
export async function exportBundle(db: Queryable, range: ExportRange = {}): Promise<AsyncGenerator<string>> {
  const from = range.from ?? 1;
  const { rows } = await db.query<{ head: string | null; anchor: Buffer | null }>(
    'select (select max(position) from ledger.events) as head, (select hash from ledger.events where position = $1) as anchor',
    [from - 1],
  );
  const head = Number(rows[0]!.head ?? 0);
  const to = range.to ?? head;
  if (!Number.isInteger(from) || from < 1) throw new RangeError(`from: must be a whole number >= 1, got ${from}`);
  if (!Number.isInteger(to) || to > head) throw new RangeError(`to: ${to} is beyond the ledger head ${head}`);
  if (to < from - 1) throw new RangeError(`to: ${to} is before from (${from})`);
  const anchor = from === 1 ? GENESIS_HASH : rows[0]!.anchor;
  if (!anchor) throw new RangeError(`from: position ${from - 1} is not in the ledger`);
  const header: BundleHeader = {
    format: BUNDLE_FORMAT,
    from,
    to,
    anchor: { position: from - 1, hash: anchor.toString('hex') },
    exported_at: new Date().toISOString(),
  };
  return (async function* lines() {
    yield JSON.stringify(header) + '\n';
    yield* selectLines(db, { after: from - 1, to });
  })();
}
