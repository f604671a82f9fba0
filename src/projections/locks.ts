/**
 * The projections' advisory locks use the two-key form
 * `(PROJECTIONS_LOCK_SPACE, n)`: a key space apart from the single-bigint keys
 * the ledger, migrations and pipelines take, so they never collide with those.
 */
export const PROJECTIONS_LOCK_SPACE = 7316;
/** Held (session-level) by the leading projector. */
export const PROJECTOR_LOCK = 1;
/** Held (session-level) for the whole of a rebuild: one at a time. */
export const REBUILD_LOCK = 2;
/** Held (session-level) by the retention task while it archives: one at a time. */
export const ARCHIVER_LOCK = 3;
