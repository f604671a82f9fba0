export interface BackoffOptions {
  /** (Default: 250) */
  readonly initialMs?: number;
  /** (Default: 10000) */
  readonly maxMs?: number;
}

/**
 * Exponential backoff with full jitter: a random wait between 0 and
 * initial·2^attempt (capped), so clients dropped together by one server do
 * not all come back in the same millisecond.
 */
export function backoffDelay(attempt: number, { initialMs = 250, maxMs = 10_000 }: BackoffOptions = {}): number {
  return Math.random() * Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
}
