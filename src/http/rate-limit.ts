import { XRPCError } from '@atproto/xrpc-server';
import { ResponseType } from '@atproto/xrpc';

export interface RateLimit {
  /** Sustained requests per second per key. */
  perSecond: number;
  burst: number;
}

/** Keys not seen for this long are forgotten, so the table stays small. */
const IDLE_FORGET_MS = 60_000;

/**
 * Token buckets per key (the requesting user's DID, or the client address for
 * anonymous requests). Over the limit: 429 RateLimitExceeded.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedMs: number }>();
  private lastSweepMs = 0;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`, or throws the 429. */
  take(key: string): void {
    this.check(key);
    this.spend(key);
  }

  /** Throws the 429 when `key` has no token left; takes none. */
  check(key: string): void {
    if (this.refilled(key).tokens < 1) {
      throw new XRPCError(ResponseType.RateLimitExceeded, 'too many requests, slow down', 'RateLimitExceeded');
    }
  }

  /** Takes one token for `key` (going below zero is a debt the refill pays first). */
  spend(key: string): void {
    this.refilled(key).tokens -= 1;
  }

  private refilled(key: string): { tokens: number; updatedMs: number } {
    const now = this.now();
    this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, updatedMs: now };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * this.limit.perSecond);
    bucket.updatedMs = now;
    this.buckets.set(key, bucket);
    return bucket;
  }

  private sweep(now: number): void {
    if (now - this.lastSweepMs < IDLE_FORGET_MS) return;
    this.lastSweepMs = now;
    for (const [key, bucket] of this.buckets) if (now - bucket.updatedMs > IDLE_FORGET_MS) this.buckets.delete(key);
  }
}
