import pg, { escapeIdentifier } from 'pg';
import type { LedgerEvent, Queryable } from '../ledger/types.js';
import { EVENT_ROW_TYPES } from '../ledger/row-types.js';
import type { Logger } from '../ops/logger.js';
import { saveTouched, touchedStatements, type WrittenRows } from './apply-batch.js';
import { PROJECTIONS_LOCK_SPACE, REBUILD_LOCK } from '../ops/locks.js';
import { inTransaction } from '../ops/transaction.js';
import { eventToDeltas } from './event-to-deltas.js';
import { emptyModel, type Model } from './model.js';
import { applyDeltas, clearTouched, newTouched, type Touched } from './reducer.js';
import { PROJECTION_SCHEMA, readCheckpoint, runStatements, writeCheckpoint } from './tables.js';
import { PROJECTION_VERSION } from './version.js';

/** Catch-up rounds before the swap stop when a round read fewer events than this. */
const CATCH_UP_SMALL = 2000;
/** Connections writing the fresh tables at once. */
const WRITERS = 3;


export interface RebuildOptions {
  /** Build the read model as of this offset into the schema `projection_at_<to>` and leave the live one alone. */
  readonly to?: number;
  readonly logger?: Logger;
  /** Events read per query. (Default: 10000) */
  readonly pageSize?: number;
  /** The first build writes out the rows changed by this many events at a time, while it reduces the next ones. (Default: 50000) */
  readonly flushEvents?: number;
  /** Skip the rebuild when, once the rebuild lock is held, the stored version already matches the code. (Default: false) */
  readonly onlyIfStale?: boolean;
  /** Called after the first full build, before catching up and swapping; for tests. */
  readonly afterBuild?: () => Promise<void>;
}

export interface RebuildResult {
  /** Where the tables are now: `projection`, or `projection_at_<to>`. */
  readonly schema: string;
  /** The offset the tables are consistent at. */
  readonly position: number;
  /** Events replayed. */
  readonly events: number;
  readonly ms: number;
}

export interface ReplayResult {
  readonly position: number;
  readonly events: number;
}

/**
 * Applies every event after `after` (up to `until`, or until the ledger runs
 * out, or `maxEvents`) to an in-memory model with the projector's own pure
 * functions. Positions are dense, so pages are ranges of positions and the
 * next `prefetch` pages are read (on as many pool connections) while the
 * current one is reduced; the first short page is the end: pages after it
 * are dropped unread, so an event committed meanwhile is never skipped.
 * `touched` collects the rows that changed.
 */
export async function replay(
  db: Queryable,
  model: Model,
  after: number,
  options: {
    until?: number;
    pageSize?: number;
    touched?: Touched;
    maxEvents?: number;
    /** Pages read ahead. (Default: 3 on a pool, 1 on a client) */
    prefetch?: number;
    /** Called after each page is reduced, with the position reached; the replay waits for it. */
    afterPage?: (position: number) => Promise<void> | void;
  } = {},
): Promise<ReplayResult> {
  const pageSize = options.pageSize ?? 10_000;
  // A single client runs one query at a time anyway.
  const prefetch = options.prefetch ?? (db instanceof pg.Pool ? 3 : 1);
  const end = Math.min(options.until ?? Infinity, after + (options.maxEvents ?? Infinity));
  let position = after;
  let events = 0;
  let next = after;
  const pages: { to: number; rows: Promise<LedgerEvent[]> }[] = [];
  const schedule = () => {
    while (pages.length < prefetch && next < end) {
      const to = Math.min(end, next + pageSize);
      const rows = readPage(db, next, to);
      // Keep a rejected prefetch from being reported as unhandled while we reduce.
      rows.catch(() => {});
      pages.push({ to, rows });
      next = to;
    }
  };
  schedule();
  while (pages.length > 0) {
    const page = pages.shift()!;
    const rows = await page.rows;
    const full = rows.length > 0 && rows[rows.length - 1]!.position === page.to;
    if (full) schedule();
    for (const event of rows) applyDeltas(model, eventToDeltas(event), options.touched);
    events += rows.length;
    if (rows.length > 0) position = rows[rows.length - 1]!.position;
    await options.afterPage?.(position);
    if (!full) break;
  }
  return { position, events };
}

/**
 * Reads events for replay: only the columns `eventToDeltas` looks at (the
 * stream columns are left empty), parsed like the ledger's `read`
 * (EVENT_ROW_TYPES) so times come out identical.
 */
async function readPage(db: Queryable, after: number, until: number): Promise<LedgerEvent[]> {
  const { rows } = await db.query<{ position: number; type: string; data: Record<string, unknown>; recorded_at: string }>({
    text: `select position, type, data, recorded_at
             from ledger.events_between($1, $2)`,
    values: [after, until],
    types: EVENT_ROW_TYPES,
  });
  return rows.map((row) => ({
    position: row.position,
    streamType: '',
    streamId: '',
    streamVersion: 0,
    type: row.type,
    data: row.data,
    metadata: NO_METADATA,
    recordedAt: row.recorded_at,
  }));
}

const NO_METADATA = Object.freeze({});

/** The read model as of offset `to` (or the head), computed in memory from the ledger alone. */
export async function modelAt(db: Queryable, to?: number): Promise<{ offset: number; model: Model }> {
  const model = emptyModel();
  const { position } = await replay(db, model, 0, { until: to });
  return { offset: position, model };
}

/**
 * Replays the ledger from 0 into fresh tables in a new schema. Without `to`,
 * it then catches up with events that arrived meanwhile and swaps the new
 * schema in for `projection` in one short transaction: the live projector and
 * snapshot readers wait for that transaction only, and continue on the new
 * tables from the checkpoint it wrote. With `to`, it leaves the result in
 * `projection_at_<to>` for auditors.
 *
 * Resolves with undefined when `onlyIfStale` found the version current.
 */
export async function rebuild(pool: pg.Pool, options: RebuildOptions = {}): Promise<RebuildResult | undefined> {
  const started = performance.now();
  const { logger, to } = options;
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1, $2)', [PROJECTIONS_LOCK_SPACE, REBUILD_LOCK]);
    if (options.onlyIfStale && (await readCheckpoint(client)).version === PROJECTION_VERSION) return undefined;
    // Builds (and swapped-out schemas) left behind by a rebuild that died; the lock says none is running.
    const { rows: leftovers } = await client.query<{ nspname: string }>(
      `select nspname from pg_namespace where nspname like 'projection\\_build\\_%' or nspname like 'projection\\_old\\_%'`,
    );
    for (const { nspname } of leftovers) await client.query(`drop schema ${escapeIdentifier(nspname)} cascade`);

    // Nobody looks at the build schema until it is renamed, so it is written
    // in many transactions, on several connections, while the replay goes on:
    // after every `flushEvents` events the rows they changed are serialised
    // and upserted in the background (flushes run one after another), while
    // the next events are reduced. Only the swap below must be atomic.
    const build = `projection_build_${process.pid}_${Date.now()}`;
    await client.query('select runledger.create_projection_tables($1)', [build]);
    // The archive takes most rows a long ledger has: its secondary indexes are built once at the end instead of row by row.
    const { rows: deferred } = await client.query<{ indexname: string; indexdef: string }>(
      `select i.indexname, i.indexdef from pg_indexes i
        where i.schemaname = $1 and i.tablename like 'archive\\_%'
          and not exists (select 1 from pg_constraint c where c.conname = i.indexname and c.connamespace = $1::regnamespace)`,
      [build],
    );
    for (const { indexname } of deferred) await client.query(`drop index ${escapeIdentifier(build)}.${escapeIdentifier(indexname)}`);
    const flushEvents = options.flushEvents ?? 50_000;
    const model = emptyModel();
    const touched = newTouched();
    const written: WrittenRows = { job: new Set(), step: new Set() };
    let flushed = Promise.resolve();
    let unflushed = 0;
    const flush = () => {
      const statements = touchedStatements(build, model, touched, true, written);
      clearTouched(touched);
      flushed = flushed.then(() => runStatements(pool, statements, WRITERS));
      // Awaited below; this only keeps a failure from being reported as unhandled meanwhile.
      flushed.catch(() => {});
    };
    let lastPosition = 0;
    const round = await replay(pool, model, 0, {
      until: to,
      pageSize: options.pageSize,
      touched,
      afterPage: async (reached) => {
        unflushed += reached - lastPosition;
        lastPosition = reached;
        if (unflushed >= flushEvents) {
          unflushed = 0;
          // At most one flush waits behind the one being written: the heap stays bounded when the writes are slower.
          await flushed;
          flush();
        }
      },
    });
    let position = round.position;
    let events = round.events;
    flush();
    logger?.info({ events, position, ms: Math.round(performance.now() - started) }, 'rebuild: ledger replayed');
    await flushed;
    for (const { indexdef } of deferred) await client.query(indexdef);
    await writeCheckpoint(client, build, position, PROJECTION_VERSION);
    await options.afterBuild?.();

    if (to !== undefined) {
      const target = `projection_at_${to}`;
      await inTransaction(client, async () => {
        await client.query(`drop schema if exists ${escapeIdentifier(target)} cascade`);
        await client.query(`alter schema ${escapeIdentifier(build)} rename to ${escapeIdentifier(target)}`);
      });
      return { schema: target, position, events, ms: performance.now() - started };
    }

    // Catch up without blocking anyone, until little is left.
    for (;;) {
      const touched = newTouched();
      const round = await replay(pool, model, position, { touched, pageSize: options.pageSize });
      if (round.events === 0) break;
      await inTransaction(client, async () => {
        await saveTouched(client, build, model, touched, true);
        await writeCheckpoint(client, build, round.position);
      });
      position = round.position;
      events += round.events;
      if (round.events < CATCH_UP_SMALL) break;
    }

    // The swap: the exclusive lock on the live checkpoint waits for the
    // projector's open batch and for snapshot readers, and holds new ones
    // until the rename commits. The new tables take in everything up to the
    // head, which is at least the live checkpoint.
    const old = `projection_old_${process.pid}_${Date.now()}`;
    const live = escapeIdentifier(PROJECTION_SCHEMA);
    await inTransaction(client, async () => {
      await client.query(`lock table ${live}.checkpoint in access exclusive mode`);
      const touched = newTouched();
      const last = await replay(client, model, position, { touched, pageSize: options.pageSize });
      position = last.position;
      events += last.events;
      await saveTouched(client, build, model, touched, true);
      await writeCheckpoint(client, build, position);
      await client.query(`alter schema ${live} rename to ${escapeIdentifier(old)}`);
      await client.query(`alter schema ${escapeIdentifier(build)} rename to ${live}`);
    });
    await client.query(`drop schema ${escapeIdentifier(old)} cascade`);
    const ms = performance.now() - started;
    logger?.info({ events, position, ms: Math.round(ms) }, 'rebuild: swapped in');
    return { schema: PROJECTION_SCHEMA, position, events, ms };
  } finally {
    // Destroying the connection also releases the rebuild lock.
    client.release(true);
  }
}

/**
 * Rebuilds the read model when the stored projection version differs from
 * PROJECTION_VERSION (a fresh database stores 0). Safe to call from several
 * processes at once: one rebuilds, the others wait and find it done. Resolves
 * with true when this call rebuilt.
 */
export async function ensureProjectionVersion(pool: pg.Pool, logger?: Logger): Promise<boolean> {
  const { version } = await readCheckpoint(pool);
  if (version === PROJECTION_VERSION) return false;
  logger?.info({ stored: version, code: PROJECTION_VERSION }, 'projection version changed; rebuilding the read model');
  const result = await rebuild(pool, { logger, onlyIfStale: true });
  return result !== undefined;
}
