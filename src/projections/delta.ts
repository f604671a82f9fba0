/**
 * A delta is the change one ledger event made to one entity of the read
 * model, tagged with the event's offset. Deltas are produced by
 * `eventToDeltas` (a pure function of one event) and applied by `applyDeltas`
 * (src/projections/reducer.ts), on the server and in the browser alike.
 *
 * This module holds types only and imports nothing, so it runs anywhere.
 */

export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/** The read model's entity kinds; `queue` depth and `stats` job counts are maintained by the reducer (see docs/projections.md). */
export type Entity = 'job' | 'step' | 'worker' | 'queue' | 'pause' | 'stats' | 'alert';

/**
 * What a delta does to its entity's row. The operations apply in this order:
 * set, init, inc, max, add, del, dropBelow. A row that does not exist yet is
 * created with the entity's defaults first, unless `existing` is true, in
 * which case the whole patch is skipped.
 */
export interface Patch {
  /** Assign these fields. */
  readonly set?: { readonly [field: string]: Json };
  /** Assign these fields only where the row's value is still null. */
  readonly init?: { readonly [field: string]: Json };
  /** Add to numeric fields (a missing field counts as 0). */
  readonly inc?: { readonly [field: string]: number };
  /** Raise numeric fields to at least this value (a missing field takes it). */
  readonly max?: { readonly [field: string]: number };
  /** Add a string to a field holding a sorted set of strings. */
  readonly add?: { readonly [field: string]: string };
  /** Remove a string from a field holding a sorted set of strings. */
  readonly del?: { readonly [field: string]: string };
  /** Stats rows only: delete every field whose name sorts before this string (a sliding time window). */
  readonly dropBelow?: string;
  /** Apply only when the row already exists (e.g. clearing an alert that has left the recent window). */
  readonly existing?: boolean;
  /**
   * Jobs only: take the job and its steps out of the live model (they move to
   * the archive tables). Nothing else in the patch applies; a job that is not
   * live is left alone. All-time aggregates (job counts, durations) stay.
   */
  readonly archive?: boolean;
}

export interface Delta {
  /** Position of the event that made this change. */
  readonly offset: number;
  readonly entity: Entity;
  /** The entity's key in the model: job id, `jobId/step`, worker id, pipeline (or `*`) for pauses, stats row id, alert id. */
  readonly id: string;
  readonly patch: Patch;
  /** The source event's type, e.g. `step.completed`. */
  readonly type: string;
  /** Set when the entity belongs to one job (job and step deltas): the job slice filter. */
  readonly jobId?: string;
  /** Set when the entity belongs to one pipeline (job, step, per-pipeline stats and pauses): the pipeline slice filter. */
  readonly pipeline?: string;
}
