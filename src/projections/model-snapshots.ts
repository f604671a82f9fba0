import { gunzipSync, gzipSync } from 'node:zlib';
import type pg from 'pg';
import { head } from '../ledger/read.js';
import type { Queryable } from '../ledger/types.js';
import { MODEL_SNAPSHOT_LOCK } from '../ops/locks.js';
import type { Logger } from '../ops/logger.js';
import { emptyModel, type Model } from './model.js';
import { replay } from './rebuild.js';
import { PROJECTION_VERSION } from './version.js';

/**
 * Stored snapshots of the in-memory read model at every multiple of K
 * events (runledger.model_snapshots, sql/000006_audit.sql), so the model as
 * of any offset N is the nearest snapshot at or below N plus at most K
 * events through the shared reducer (src/projections/model-at.ts).
 * Snapshots of another PROJECTION_VERSION are ignored (and pruned).
 */

export interface StoredSnapshot {
  readonly position: number;
  /** The model as JSON text: parse it for a private, mutable copy. */
  readonly json: string;
}

/** Recently loaded snapshots, as text: they never change once written, and parsing text is cheaper than fetching and unzipping. */
const cache = new Map<number, string>();
const CACHE_SIZE = 4;

/** The newest snapshot at or below `position` (of this projection version), or undefined. */
export async function nearestSnapshot(db: Queryable, position: number): Promise<StoredSnapshot | undefined> {
  const { rows: found } = await db.query<{ position: string }>(
    `select position from runledger.model_snapshots where version = $1 and position <= $2 order by position desc limit 1`,
    [PROJECTION_VERSION, position],
  );
  if (!found[0]) return undefined;
  const at = Number(found[0].position);
  let json = cache.get(at);
  if (json === undefined) {
    const { rows } = await db.query<{ model: Buffer }>(
      'select model from runledger.model_snapshots where version = $1 and position = $2',
      [PROJECTION_VERSION, at],
    );
    json = gunzipSync(rows[0]!.model).toString('utf8');
    cache.set(at, json);
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  } else {
    cache.delete(at);
    cache.set(at, json);
  }
  return { position: at, json };
}

export async function saveSnapshot(db: Queryable, position: number, model: Model): Promise<void> {
  // Level 1: the snapshots are written in the background but read on requests; fast to unzip matters more than size.
  const zipped = gzipSync(JSON.stringify(model), { level: 1 });
  await db.query(
    `insert into runledger.model_snapshots (position, version, model) values ($1, $2, $3)
     on conflict (position, version) do nothing`,
    [position, PROJECTION_VERSION, zipped],
  );
}

export interface SnapshotPolicy {
  /** K: a snapshot at every multiple of this many events. */
  readonly every: number;
  /** Keep only this many newest snapshots; 0 keeps all. */
  readonly keep: number;
}

/**
 * Takes every snapshot that is due (each multiple of K up to the head),
 * starting from the newest stored one, then prunes. One process at a time
 * (an advisory lock; others return at once). Resolves with the positions taken.
 */
export async function takeDueSnapshots(pool: pg.Pool, policy: SnapshotPolicy, logger?: Logger): Promise<number[]> {
  if (policy.every <= 0) return [];
  const lock = await pool.connect();
  const taken: number[] = [];
  try {
    const { rows } = await lock.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [MODEL_SNAPSHOT_LOCK]);
    if (!rows[0]!.ok) return [];
    try {
      const ledgerHead = await head(pool);
      const { rows: newest } = await pool.query<{ position: string | null }>(
        'select max(position) as position from runledger.model_snapshots where version = $1',
        [PROJECTION_VERSION],
      );
      let position = Number(newest[0]!.position ?? 0);
      const next = (from: number) => (Math.floor(from / policy.every) + 1) * policy.every;
      if (next(position) > ledgerHead) return [];
      const stored = position > 0 ? await nearestSnapshot(pool, position) : undefined;
      const model: Model = stored ? (JSON.parse(stored.json) as Model) : emptyModel();
      while (next(position) <= ledgerHead) {
        const target = next(position);
        await replay(pool, model, position, { until: target });
        await saveSnapshot(pool, target, model);
        taken.push(target);
        position = target;
      }
      await pool.query('delete from runledger.model_snapshots where version <> $1', [PROJECTION_VERSION]);
      if (policy.keep > 0) {
        await pool.query(
          `delete from runledger.model_snapshots where version = $1 and position < (
             select min(position) from (select position from runledger.model_snapshots where version = $1
                                         order by position desc limit $2) newest)`,
          [PROJECTION_VERSION, policy.keep],
        );
      }
      if (taken.length > 0) logger?.debug({ taken }, 'model snapshots taken');
      return taken;
    } finally {
      await lock.query('select pg_advisory_unlock($1)', [MODEL_SNAPSHOT_LOCK]);
    }
  } finally {
    lock.release();
  }
}

export interface ModelSnapshotter {
  stop(): Promise<void>;
}

/** Takes due snapshots every `pollMs` until stopped. */
export function startModelSnapshotter(options: { pool: pg.Pool; policy: SnapshotPolicy; logger: Logger; pollMs?: number }): ModelSnapshotter {
  const pollMs = options.pollMs ?? 5000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = takeDueSnapshots(options.pool, options.policy, options.logger).catch((error: unknown) =>
      options.logger.warn({ err: error }, 'model snapshot failed; retrying'),
    );
    void running.then(() => {
      if (!stopped) timer = setTimeout(tick, pollMs);
    });
  };
  if (options.policy.every > 0) timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
