import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../env.js';
import { AppError } from '../../ops/errors.js';
import { addressOf, isWrite } from './address.js';

export interface RateLimitOptions {
  /** Writes a second per address; 0: no limit. */
  readonly perSecond: number;
  /** Bucket size: writes allowed at once. */
  readonly burst: number;
}

/**
 * A token bucket per client address for writes, in this process's memory:
 * each API process limits what reaches it (behind a balancer spreading one
 * client over N processes, the client gets up to N times the rate).
 * Over the limit: 429 with Retry-After, before any work is done.
 */
export function writeRateLimit({ perSecond, burst }: RateLimitOptions): MiddlewareHandler<ApiEnv> {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const capacity = Math.max(1, burst);
  return async function writeRateLimit(c, next) {
    if (perSecond <= 0 || !isWrite(c.req.method)) return next();
    const now = Date.now();
    const address = addressOf(c);
    let bucket = buckets.get(address);
    if (!bucket) {
      // Full buckets hold no information: drop them when the map grows.
      if (buckets.size > 10_000) for (const [key, b] of buckets) if (b.tokens + ((now - b.at) / 1000) * perSecond >= capacity) buckets.delete(key);
      buckets.set(address, (bucket = { tokens: capacity, at: now }));
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
      throw new AppError(429, 'rate_limited', `address: more than ${perSecond} writes a second from ${address}; retry after ${retryAfter} s`, {
        field: 'address',
        headers: { 'retry-after': String(retryAfter) },
      });
    }
    bucket.tokens -= 1;
    await next();
  };
}
