import type { Doorbell } from '../ledger/doorbell.js';
import { head, readDeltaSources } from '../ledger/read.js';
import { tail, type Tail } from '../ledger/tail.js';
import type { DeltaSource, Queryable } from '../ledger/types.js';
import { observeDispatch, observeFeedBatch } from '../ops/metrics/stream-metrics.js';
import type { Delta } from '../projections/delta.js';
import { eventToDeltas } from '../projections/event-to-deltas.js';

/** Consecutive events (after, upTo] turned into deltas; events yielding none still count. */
export interface FeedBatch {
  readonly after: number;
  readonly upTo: number;
  readonly deltas: readonly Delta[];
  /** The unfiltered `deltas` frame as JSON, built once and shared by every subscriber without a filter. */
  readonly frame: () => string;
}

export interface Feed {
  /** The newest offset handed to listeners. */
  readonly position: number;
  /** Registers a listener for every batch after `position`; returns the unregister function. */
  listen(listener: (batch: FeedBatch) => void): () => void;
  /**
   * Registers a listener that runs after every `listen` listener of each
   * batch, once subscribers have checked their clients' backlog: the stream
   * server publishes the shared frame to its broadcast there.
   */
  afterListeners(listener: (batch: FeedBatch) => void): () => void;
  /** The newest committed offset: the feed's position, or the table's head if the feed is behind it. */
  head(): Promise<number>;
  stop(): Promise<void>;
}

export interface FeedOptions {
  readonly db: Queryable;
  /** Started already (LISTEN before the first read). */
  readonly doorbell: Doorbell;
  /** (Default: 5000) */
  readonly pollMs?: number;
  readonly onError?: (error: Error) => void;
}

/** Maps ledger events to deltas, as a batch. Pure: replay and live go through the same function. */
export function toBatch(events: readonly DeltaSource[], after: number, upTo = events.at(-1)?.position ?? after): FeedBatch {
  const deltas = events.flatMap(eventToDeltas);
  let frame: string | undefined;
  return { after, upTo, deltas, frame: () => (frame ??= JSON.stringify({ type: 'deltas', upTo, deltas })) };
}

/**
 * The one follower of the ledger per process: it tails the events table
 * from the head at start-up and hands every batch, as deltas, to every
 * listener. Subscribers that start further back read history themselves
 * (see session.ts), so the feed keeps no per-client state or history.
 */
export async function startFeed(options: FeedOptions): Promise<Feed> {
  const listeners = new Set<(batch: FeedBatch) => void>();
  const finishers = new Set<(batch: FeedBatch) => void>();
  let position = await head(options.db);
  // The first ring not yet answered by a batch: where the server's part of
  // a dispatch starts (runledger_stream_read_seconds).
  let rungAt: number | undefined;
  const onRing = () => {
    rungAt ??= performance.now();
  };
  options.doorbell.on('ring', onRing);
  const follower: Tail = tail<DeltaSource>({
    db: options.db,
    read: (after, limit) => readDeltaSources(options.db, after, after + limit),
    doorbell: options.doorbell,
    from: position,
    pollMs: options.pollMs,
    onError: options.onError,
    onEvents: (events) => {
      const readAt = performance.now();
      const rang = rungAt;
      rungAt = undefined;
      const batch = toBatch(events, position);
      position = batch.upTo;
      for (const group of [listeners, finishers]) {
        for (const listener of group) {
          try {
            listener(batch);
          } catch (error) {
            options.onError?.(error as Error);
          }
        }
      }
      observeFeedBatch(rang, readAt, performance.now());
      observeDispatch(events);
    },
  });
  return {
    get position() {
      return position;
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    afterListeners(listener) {
      finishers.add(listener);
      return () => finishers.delete(listener);
    },
    async head() {
      return Math.max(position, await head(options.db));
    },
    async stop() {
      listeners.clear();
      finishers.clear();
      options.doorbell.off('ring', onRing);
      await follower.stop();
    },
  };
}

/**
 * Reads every event in (after, until] as one batch reaching `until`. Positions
 * are unique whole numbers, so the range holds at most `until - after` events
 * and ranges can be read in parallel.
 */
export async function readRange(db: Queryable, after: number, until: number): Promise<FeedBatch> {
  return toBatch(await readDeltaSources(db, after, until), after, until);
}
