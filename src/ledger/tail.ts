import { setTimeout as sleep } from 'node:timers/promises';
import type { Doorbell } from './doorbell.js';
import { read } from './read.js';
import type { LedgerEvent, Queryable } from './types.js';

export interface TailOptions<E extends { readonly position: number } = LedgerEvent> {
  readonly db: Queryable;
  /** Must already be started: LISTEN comes before the first catch-up read. */
  readonly doorbell: Doorbell;
  /** Deliver events after this position. */
  readonly from: number;
  /** Called with each batch, in position order; the next batch waits for it. */
  readonly onEvents: (events: E[]) => void | Promise<void>;
  readonly onError?: (error: Error) => void;
  /** Safety-net poll in case a notification is lost. (Default: 5000) */
  readonly pollMs?: number;
  /** (Default: 1000) */
  readonly batchSize?: number;
  /**
   * While the doorbell keeps ringing, at least this long between the starts
   * of two reads, ms; catching up (full batches) never waits. A follower that
   * commits per batch (the projector) then takes a busy ledger's events a few
   * at a time instead of one transaction per event. (Default: 0)
   */
  readonly intervalMs?: number;
  readonly types?: readonly string[];
  /**
   * Reads up to `limit` events after `after`, in position order. (Default:
   * whole events, `read` with `types`; the stream reads only what its deltas
   * need.)
   */
  readonly read?: (after: number, limit: number) => Promise<E[]>;
}

export interface Tail {
  /** The last position delivered. */
  readonly position: number;
  /** Resolves when everything committed up to now has been delivered. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows the ledger from a position: catch up by reading the table, then
 * read again whenever the doorbell rings, the LISTEN connection comes back,
 * or the poll timer fires. One read runs at a time and always continues from
 * the last delivered position, so nothing is delivered twice or skipped.
 */
export function tail<E extends { readonly position: number } = LedgerEvent>(options: TailOptions<E>): Tail {
  const { db, doorbell, onEvents, pollMs = 5000, batchSize = 1000, intervalMs = 0 } = options;
  // Without `read`, E is its default: whole events.
  const readAfter =
    options.read ?? ((after: number, limit: number) => read(db, { after, limit, types: options.types }) as Promise<unknown> as Promise<E[]>);
  let position = options.from;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let lastRead = -Infinity;
  const stopping = new AbortController();
  // Reads started so far, and callers of caughtUp() waiting for a read that
  // started after their call to reach the end of the ledger.
  let reads = 0;
  let waiters: { after: number; resolve: () => void }[] = [];
  const reachedEnd = (read: number) => {
    const done = waiters.filter((waiter) => waiter.after < read);
    waiters = waiters.filter((waiter) => waiter.after >= read);
    for (const waiter of done) waiter.resolve();
  };

  const drain = async (): Promise<void> => {
    do {
      again = false;
      const wait = lastRead + intervalMs - performance.now();
      if (wait > 0 && !(await sleep(wait, true, { signal: stopping.signal }).catch(() => false))) return;
      lastRead = performance.now();
      for (;;) {
        if (stopped) return;
        const started = (reads += 1);
        const events = await readAfter(position, batchSize);
        if (events.length > 0) {
          await onEvents(events);
          position = events[events.length - 1]!.position;
        }
        if (events.length < batchSize) {
          reachedEnd(started);
          break;
        }
      }
    } while (again && !stopped);
  };

  const wake = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = drain()
      .catch((error: Error) => {
        if (options.onError) options.onError(error);
        else throw error;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const onRing = () => void wake();
  doorbell.on('ring', onRing);
  doorbell.on('reconnected', onRing);
  const timer = setInterval(onRing, pollMs);
  timer.unref();
  void wake();

  return {
    get position() {
      return position;
    },
    caughtUp() {
      // A read already under way may have started before the newest commit;
      // one that starts after this call has not. Waiting for the drain loop
      // itself to end would wait forever on a ledger that keeps ringing.
      if (stopped) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiters.push({ after: reads, resolve });
        wake().catch(reject);
      });
    },
    async stop() {
      stopped = true;
      reachedEnd(Infinity);
      stopping.abort();
      clearInterval(timer);
      doorbell.off('ring', onRing);
      doorbell.off('reconnected', onRing);
      await running?.catch(() => {});
    },
  };
}
