import type { LedgerEvent } from '../../ledger/types.js';
import { metrics } from './registry.js';

/** Observes, for each event of a batch the feed just handed to the stream clients, how long ago it was appended. */
export function observeDispatch(events: readonly LedgerEvent[]): void {
  const now = Date.now();
  for (const event of events) metrics.dispatchSeconds.observe(Math.max(0, (now - Date.parse(event.recordedAt)) / 1000));
}
