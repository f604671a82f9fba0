/**
 * Every PostgreSQL advisory lock key runledger takes, in one place. SQL
 * functions take some of them by number; sql/000001_ledger.sql lists them in
 * one comment, and test/ops/locks.unit.test.ts checks that every key written
 * in sql/ is one of these.
 *
 * Single-bigint keys (7_316_2xx):
 */
/**
 * Transaction-scoped, taken by the seal (`ledger.seal`, at COMMIT; or at once
 * by `ledger.append()`) and held until the commit is visible: one sealer at a
 * time, so positions commit in order.
 */
export const LEDGER_APPEND_LOCK = 7_316_200;
/** Transaction-scoped, held while a migration runs, so concurrent processes migrate one at a time. */
export const MIGRATION_LOCK = 7_316_201;
/** Exclusive while pausing (src/pipelines/pause.ts); shared by every step start (`pipelines.start_step`). */
export const PAUSE_LOCK = 7_316_202;
/** Transaction-scoped, tried (never waited for) by the checkpoint signer (src/audit/checkpoints.ts): one signer at a time across servers. */
export const CHECKPOINT_LOCK = 7_316_210;
/** Session-level, tried by the model snapshotter (src/projections/model-snapshots.ts): one snapshot taker at a time. */
export const MODEL_SNAPSHOT_LOCK = 7_316_211;

/**
 * Transaction-scoped, two-key form `(LEDGER_STREAM_LOCK_SPACE,
 * hashtext(stream_type || '/' || stream_id))`, taken by every append for each
 * of its streams: appends to one stream read its version one at a time.
 */
export const LEDGER_STREAM_LOCK_SPACE = 7_316_204;

/**
 * The projections' locks use the two-key form `(PROJECTIONS_LOCK_SPACE, n)`:
 * a key space apart from the single-bigint keys above, so they never collide.
 */
export const PROJECTIONS_LOCK_SPACE = 7316;
/** Held (session-level) by the leading projector. */
export const PROJECTOR_LOCK = 1;
/** Held (session-level) for the whole of a rebuild: one at a time. */
export const REBUILD_LOCK = 2;
/** Held (session-level) by the read-model retention task while it archives (src/pipelines/archive-finished.ts): one at a time. */
export const ARCHIVER_LOCK = 3;
