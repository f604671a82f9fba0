// TEMPORARY until the projections branch lands: a pass-through mapping with
// the agreed Delta shape. Replaced by a re-export of src/projections.
import type { LedgerEvent } from '../ledger/types.js';

export interface Delta {
  readonly offset: number;
  readonly entity: string;
  readonly id: string;
  readonly patch: Record<string, unknown>;
  readonly type: string;
  readonly jobId?: string;
  readonly pipeline?: string;
}

export function eventToDeltas(event: LedgerEvent): Delta[] {
  const data = event.data as { jobId?: string; pipeline?: string };
  return [
    {
      offset: event.position,
      entity: event.streamType,
      id: event.streamId,
      patch: event.data,
      type: event.type,
      ...(data.jobId !== undefined ? { jobId: data.jobId } : {}),
      ...(data.pipeline !== undefined ? { pipeline: data.pipeline } : {}),
    },
  ];
}

export type SnapshotFn = (
  db: import('../ledger/types.js').Queryable,
  options: { jobId?: string; pipeline?: string },
) => Promise<{ offset: number; model: unknown }>;

/** The read-model snapshot, once projections provide it. */
export const snapshot: SnapshotFn | undefined = undefined;
