import { metrics } from './registry.js';

/** Starts timing one appending statement; call the result when it is done. Observed into runledger_append_duration_seconds{path}. */
export function appendTimer(path: string): () => void {
  const end = metrics.appendSeconds.startTimer({ path });
  return () => void end();
}
