// The stream's view of the projections: the same pure mapping from ledger
// events to deltas serves replay and live, and snapshots come from the read
// model tables.
import type pg from 'pg';
import type { Queryable } from '../ledger/types.js';
import { snapshot as readSnapshot } from '../projections/snapshot.js';

export type { Delta } from '../projections/delta.js';
export { eventToDeltas } from '../projections/event-to-deltas.js';

export type SnapshotFn = (db: Queryable, slice: { jobId?: string; pipeline?: string }) => Promise<{ offset: number; model: unknown }>;

/** The read model (or a job/pipeline slice of it) with the offset it is consistent at. Needs a pool: it opens its own transaction. */
export const snapshot: SnapshotFn = (db, slice) => readSnapshot(db as pg.Pool, slice);
