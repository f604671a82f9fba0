import { head } from '../ledger/read.js';
import type { Queryable } from '../ledger/types.js';
import { emptyModel, type Model, type Snapshot } from './model.js';
import { nearestSnapshot } from './model-snapshots.js';
import { replay } from './rebuild.js';

export interface ModelAt extends Snapshot {
  /** Where the replay started: the stored snapshot's position (0: none, from the start). */
  readonly base: number;
  /** Events applied on top of the base. */
  readonly replayed: number;
}

/**
 * The read model exactly as it was at offset `at`: the nearest stored
 * snapshot at or below it, plus the events after it through the shared
 * reducer — the same result as `runledger rebuild --to <at>`.
 * Throws RangeError when `at` is beyond the head.
 */
export async function modelAsOf(db: Queryable, at: number): Promise<ModelAt> {
  const ledgerHead = await head(db);
  if (at > ledgerHead) throw new RangeError(`at: ${at} is beyond the ledger head ${ledgerHead}`);
  const stored = at > 0 ? await nearestSnapshot(db, at) : undefined;
  const model: Model = stored ? (JSON.parse(stored.json) as Model) : emptyModel();
  const base = stored?.position ?? 0;
  const { events } = await replay(db, model, base, { until: at });
  return { offset: at, model, base, replayed: events };
}
