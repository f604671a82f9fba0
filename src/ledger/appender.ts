import type pg from 'pg';
import { appendGate } from '../ops/pool.js';
import { append, type AppendOptions } from './append.js';
import type { AppendResult, NewEvent } from './types.js';
import { DEFAULT_MAX_EVENT_BYTES, validateEvents } from './validate.js';

export interface Appender {
  /**
   * Appends `events` in a transaction of their own, resolving once they are
   * committed. Calls made while an append is in flight are committed
   * together, as one statement, right after it: group commit.
   */
  append(events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult[]>;
}

interface Pending {
  readonly events: readonly NewEvent[];
  resolve(results: AppendResult[]): void;
  reject(error: unknown): void;
}

/**
 * Group commit for appends that need no transaction of the caller's (a
 * step's progress and log lines, for instance). Each single-event
 * transaction pays a commit (a WAL flush, under the ledger's ordering lock
 * and PostgreSQL's NOTIFY lock, so one at a time); sharing one transaction
 * among the callers waiting at the same moment costs each of them nothing
 * and multiplies throughput. As many transactions run at once as the pool's
 * `appendsAtOnce` lets `append` open (src/ops/pool.ts), so a batch keeps
 * forming here while those commit, and a lone caller is sent at once (no
 * timer). Each caller's events stay contiguous and in order. A
 * caller's bad event is refused before it joins a batch, so it fails alone;
 * an append with `expectedVersion` runs on its own.
 */
export function createAppender(
  pool: pg.Pool,
  { maxEventBytes = DEFAULT_MAX_EVENT_BYTES, maxBatchEvents = 1000 } = {},
): Appender {
  // More batches in flight than the pool lets append open would only wait,
  // already closed, at append's gate instead of taking more callers.
  const maxInFlight = appendGate(pool).limit;
  const queue: Pending[] = [];
  let inFlight = 0;

  const send = async (batch: Pending[]) => {
    try {
      const results = await append(pool, batch.flatMap((pending) => pending.events), { maxEventBytes });
      let offset = 0;
      for (const pending of batch) {
        pending.resolve(results.slice(offset, offset + pending.events.length));
        offset += pending.events.length;
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  };

  const pump = () => {
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch: Pending[] = [];
      let size = 0;
      while (queue.length > 0 && (batch.length === 0 || size + queue[0]!.events.length <= maxBatchEvents)) {
        const next = queue.shift()!;
        batch.push(next);
        size += next.events.length;
      }
      inFlight += 1;
      void send(batch).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  };

  return {
    append(events, options = {}) {
      if (options.expectedVersion !== undefined) return append(pool, events, { maxEventBytes, ...options });
      try {
        validateEvents(events, options.maxEventBytes ?? maxEventBytes);
      } catch (error) {
        return Promise.reject(error);
      }
      return new Promise<AppendResult[]>((resolve, reject) => {
        queue.push({ events, resolve, reject });
        pump();
      });
    },
  };
}
