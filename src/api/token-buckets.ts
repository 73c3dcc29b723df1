import { performance } from 'node:perf_hooks';

export type TokenBucketOptions = {
  /** Tokens each bucket gets back per second; 0 turns the limit off (every take succeeds). */
  ratePerSecond: number;
  /** Tokens a full bucket holds: what a key may spend at once. */
  capacity: number;
  /**
   * Buckets kept at most. Past it, full buckets (which are the same as none) are dropped, then
   * the oldest, so a flood of new keys or addresses cannot grow memory without bound. @default 10000
   */
  maxBuckets?: number;
};

type Bucket = { tokens: number; at: number };

/**
 * Token buckets by key (an API key, a tenant, a client address), in this process's memory: N API
 * processes together allow N times the rate. A bucket starts full and refills continuously.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly options: TokenBucketOptions,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Takes `tokens` from `key`'s bucket (at most a full bucket's worth: anything may be done once
   * with a full bucket).
   * @returns 0 when taken; otherwise the whole seconds until the bucket holds enough, and nothing is taken
   */
  take(key: string, tokens = 1): number {
    if (this.options.ratePerSecond <= 0) return 0;
    const bucket = this.refilled(key);
    const needed = Math.min(tokens, this.options.capacity);
    if (bucket.tokens >= needed) {
      bucket.tokens -= needed;
      return 0;
    }
    return Math.max(1, Math.ceil((needed - bucket.tokens) / this.options.ratePerSecond));
  }

  /**
   * Whether `key`'s bucket holds a token, without taking it.
   * @returns 0 when it does; otherwise the whole seconds until it will
   */
  check(key: string): number {
    if (this.options.ratePerSecond <= 0) return 0;
    const bucket = this.refilled(key);
    return bucket.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / this.options.ratePerSecond));
  }

  private refilled(key: string): Bucket {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      this.evictIfFull(now);
      bucket = { tokens: this.options.capacity, at: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.options.capacity, bucket.tokens + ((now - bucket.at) / 1000) * this.options.ratePerSecond);
    bucket.at = now;
    return bucket;
  }

  private evictIfFull(now: number): void {
    const max = this.options.maxBuckets ?? 10_000;
    if (this.buckets.size < max) return;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.options.ratePerSecond >= this.options.capacity) this.buckets.delete(key);
    }
    // Still full: a flood of keys. Forget the oldest half (they start again with a full bucket).
    if (this.buckets.size >= max) {
      let drop = Math.ceil(this.buckets.size / 2);
      for (const key of this.buckets.keys()) {
        if (drop-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }
}
