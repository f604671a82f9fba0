import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Doorbell } from '../ledger/doorbell.js';
import { head } from '../ledger/read.js';
import { tail, type Tail } from '../ledger/tail.js';
import type { LedgerEvent } from '../ledger/types.js';
import type { Logger } from '../ops/logger.js';
import { applyBatch, CheckpointGap } from './apply-batch.js';
import type { Delta } from './delta.js';
import { PROJECTIONS_LOCK_SPACE, PROJECTOR_LOCK } from '../ops/locks.js';
import { inTransaction } from '../ops/transaction.js';
import { PROJECTION_SCHEMA, readCheckpoint } from './tables.js';
import { ensureProjectionVersion } from './rebuild.js';


export interface ProjectorOptions {
  readonly pool: pg.Pool;
  /** Must already be started. */
  readonly doorbell: Doorbell;
  readonly logger: Logger;
  /** Events per transaction. (Default: 1000) */
  readonly batchSize?: number;
  /**
   * At least this long between two batches while the ledger is busy, ms: at
   * 500 appends a second, a transaction per event took CPU from the appends
   * and the stream on the same machine (docs/projections.md). The read model
   * lags a busy ledger by up to this much more. `serve` passes
   * RUNLEDGER_PROJECTOR_INTERVAL_MS (250). (Default: 25)
   */
  readonly intervalMs?: number;
  /** Safety-net poll of the ledger tail, ms. (Default: 5000) */
  readonly pollMs?: number;
  /** How often a standby tries to take the lead, ms. (Default: 1000) */
  readonly standbyMs?: number;
  /** Rebuild first when the stored projection version differs from the code's. (Default: true) */
  readonly ensureVersion?: boolean;
  /** Called inside each batch's transaction right before COMMIT; for tests and instrumentation. */
  readonly beforeCommit?: (events: readonly LedgerEvent[]) => Promise<void>;
  /** Called after each committed batch with its deltas, in offset order; for tests and instrumentation. */
  readonly afterCommit?: (deltas: readonly Delta[], position: number) => void;
  /** Called after each batch commits, with its events: each event once, cluster-wide, by the leader. For metrics. */
  readonly observeEvents?: (events: readonly LedgerEvent[]) => void;
}

export interface Projector {
  /** The newest checkpoint this process knows of (applied here, or read while standing by). */
  readonly checkpoint: number;
  /** True while this process holds the lead and applies events. */
  readonly leader: boolean;
  /** Resolves once everything committed before the call is projected (by whichever process leads). */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows the ledger and keeps the read model up to date, exactly once: each
 * batch of events and the checkpoint commit in one transaction. Processes
 * compete for a session advisory lock; the holder applies, on the very
 * connection that holds the lock, so if that connection dies its open batch
 * rolls back and the lock is free at the same moment. The others poll for
 * the lock and take over. The checkpoint row is locked and re-checked in each
 * batch, so even two appliers could not apply an event twice.
 */
export function startProjector(options: ProjectorOptions): Projector {
  const { pool, doorbell, logger, batchSize = 1000, pollMs = 5000, standbyMs = 1000, intervalMs = 25 } = options;
  // The leader holds one connection (its lock and its batches) and reads the
  // ledger through another: on a one-connection pool it would wait forever.
  if (pool.options.max !== undefined && pool.options.max < 2) {
    throw new Error(`the projector needs a pool of at least 2 connections (this one has max ${pool.options.max}): one holds the leadership lock, the other reads the ledger`);
  }
  let checkpoint = 0;
  let leader = false;
  let stopped = false;
  let wakeStandby: (() => void) | undefined;
  let endLead: ((reason: 'lost' | 'stopped' | 'gap') => void) | undefined;

  const apply = async (client: pg.PoolClient, events: LedgerEvent[]) => {
    let applied;
    try {
      applied = await inTransaction(client, async () => {
        const batch = await applyBatch(client, PROJECTION_SCHEMA, events);
        await options.beforeCommit?.(events);
        return batch;
      });
    } catch (error) {
      const alive = await client.query('select 1').then(() => true, () => false);
      if (!alive) endLead?.('lost');
      else if (error instanceof CheckpointGap) endLead?.('gap');
      throw error;
    }
    checkpoint = applied.position;
    options.observeEvents?.(events);
    if (applied.deltas.length > 0) options.afterCommit?.(applied.deltas, applied.position);
  };

  const lead = async (client: pg.PoolClient) => {
    if (options.ensureVersion ?? true) await ensureProjectionVersion(pool, logger);
    for (;;) {
      checkpoint = (await readCheckpoint(pool)).position;
      const ended = new Promise<'lost' | 'stopped' | 'gap'>((resolve) => {
        endLead = resolve;
      });
      if (stopped) endLead!('stopped');
      const follower: Tail = tail({
        db: pool,
        doorbell,
        from: checkpoint,
        pollMs,
        batchSize,
        intervalMs,
        onEvents: (events) => apply(client, events),
        onError: (error) => {
          if (!(error instanceof CheckpointGap)) logger.error({ err: error }, 'projection batch failed; will retry');
        },
      });
      const reason = await ended;
      endLead = undefined;
      await follower.stop();
      if (reason !== 'gap') return;
      logger.warn('projection checkpoint moved under the projector (a rebuild?); re-reading from it');
    }
  };

  const run = async () => {
    while (!stopped) {
      let client: pg.PoolClient | undefined;
      let broken = false;
      const onError = () => {
        broken = true;
        endLead?.('lost');
      };
      try {
        client = await pool.connect();
        client.on('error', onError);
        const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [PROJECTIONS_LOCK_SPACE, PROJECTOR_LOCK]);
        if (rows[0]!.ok) {
          leader = true;
          logger.info('projector leads');
          await lead(client);
        } else {
          checkpoint = Math.max(checkpoint, (await readCheckpoint(client)).position);
        }
      } catch (error) {
        broken = true;
        if (!stopped) logger.error({ err: error }, 'projector lost its connection; standing by');
      } finally {
        if (leader) logger.info('projector stands by');
        // A standby's connection goes back to the pool and is handed out
        // again next second: without this, one listener a second piled up.
        client?.off('error', onError);
        // Destroying the leader's connection releases the advisory lock with it.
        client?.release(broken || leader);
        leader = false;
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wakeStandby = resolve;
        setTimeout(resolve, standbyMs).unref();
      });
      wakeStandby = undefined;
    }
  };
  const running = run();

  return {
    get checkpoint() {
      return checkpoint;
    },
    get leader() {
      return leader;
    },
    async caughtUp() {
      const target = await head(pool);
      while (!stopped && (await readCheckpoint(pool)).position < target) await sleep(20);
    },
    async stop() {
      stopped = true;
      endLead?.('stopped');
      wakeStandby?.();
      await running;
    },
  };
}
