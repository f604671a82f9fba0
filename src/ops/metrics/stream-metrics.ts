import type { DeltaSource } from '../../ledger/types.js';
import { metrics } from './registry.js';

/** Observes, for each event of a batch the feed just handed to the stream clients, how long ago it was appended. */
export function observeDispatch(events: readonly Pick<DeltaSource, 'recordedAt'>[]): void {
  const now = Date.now();
  for (const event of events) metrics.dispatchSeconds.observe(Math.max(0, (now - Date.parse(event.recordedAt)) / 1000));
}

/**
 * The server's part of dispatch, split: NOTIFY received -> events read
 * (`readAt - rungAt`), events read -> frames handed to every client
 * (`sentAt - readAt`). `rungAt` is undefined for a batch no ring started.
 */
export function observeFeedBatch(rungAt: number | undefined, readAt: number, sentAt: number): void {
  if (rungAt !== undefined) metrics.feedReadSeconds.observe((readAt - rungAt) / 1000);
  metrics.feedSendSeconds.observe((sentAt - readAt) / 1000);
}
