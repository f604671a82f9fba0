import { metrics } from './metrics/registry.js';

export interface BatchedOptions<T, R> {
  /** The `batch` label of the runledger_group_commit_* metrics; unnamed batchers are not observed. */
  readonly name?: string;
  /** Writes the items in one transaction; resolves with one result per item, in their order. */
  readonly together: (items: T[]) => Promise<R[]>;
  /**
   * Writes one item on its own. When given, a batch of several that fails is
   * tried again item by item, so one item's error stays its own; otherwise
   * every item of the batch gets the error.
   */
  readonly alone?: (item: T) => Promise<R>;
  /** Items per batch at most. (Default: unlimited) */
  readonly max?: number;
  /** The order within a batch (a lock order, say). (Default: arrival) */
  readonly order?: (a: T, b: T) => number;
}

/**
 * Group commit without a timer: an item goes out at once when no batch is in
 * flight; the items that arrive meanwhile go together in the next batch. An
 * idle caller waits for nothing, and under load one commit serves many: what
 * the ledger's ordering lock, one commit at a time, needs.
 */
export function batched<T, R>({ name, together, alone, max = Infinity, order }: BatchedOptions<T, R>): (item: T) => Promise<R> {
  let pending: { item: T; resolve: (result: R) => void; reject: (error: unknown) => void; at: number }[] = [];
  let inFlight = false;
  const flush = async () => {
    inFlight = true;
    while (pending.length > 0) {
      const batch = pending.slice(0, max);
      pending = pending.slice(batch.length);
      if (order) batch.sort((a, b) => order(a.item, b.item));
      const started = performance.now();
      if (name !== undefined) observeStart(name, batch, started);
      try {
        const results = await together(batch.map((b) => b.item));
        if (name !== undefined) metrics.groupCommitSeconds.observe({ batch: name }, (performance.now() - started) / 1000);
        results.forEach((result, i) => batch[i]!.resolve(result));
      } catch (error) {
        if (!alone || batch.length === 1) {
          for (const b of batch) b.reject(error);
        } else {
          await Promise.all(batch.map(({ item, resolve, reject }) => alone(item).then(resolve, reject)));
        }
      }
    }
    inFlight = false;
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      pending.push({ item, resolve, reject, at: performance.now() });
      if (!inFlight) void flush();
    });
}

function observeStart(name: string, batch: readonly { at: number }[], started: number): void {
  metrics.groupCommitItems.observe({ batch: name }, batch.length);
  for (const { at } of batch) metrics.groupCommitWaitSeconds.observe({ batch: name }, (started - at) / 1000);
}
