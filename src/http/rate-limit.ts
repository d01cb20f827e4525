/**
 * Token buckets per key, refilled continuously: the per-client rate limit (RATE_LIMIT_PER_MINUTE calls, so one
 * client cannot starve the others) and the per-address limit on failed authentications (AUTH_FAILURES_PER_MINUTE,
 * so a flood of bad tokens cannot spend the CPU on signature checks). Over a limit: 429 with Retry-After and an
 * OperationOutcome. Buckets live in the process: with WORKERS > 1 each process counts on its own.
 */
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './outcomes.js';

const MAX_KEYS = 10_000;

/** Buckets, one per key, each holding up to `perMinute` tokens. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  /**
   * @param perMinute - tokens per minute, and the most a bucket holds.
   * @param clock - milliseconds now.
   */
  constructor(
    private readonly perMinute: number,
    private readonly clock: () => number = Date.now
  ) {
    this.perMs = perMinute / 60_000;
  }

  /**
   * Seconds until the key's bucket holds a token (0 when it holds one now); takes nothing.
   * @param key - the bucket.
   * @returns whole seconds to wait.
   */
  wait(key: string): number {
    return this.secondsUntilOne(this.refill(key).tokens);
  }

  /**
   * Takes a token from the key's bucket when it holds one.
   * @param key - the bucket.
   * @returns 0 when taken, else whole seconds until one is there.
   */
  take(key: string): number {
    const bucket = this.refill(key);
    const wait = this.secondsUntilOne(bucket.tokens);
    if (wait === 0) bucket.tokens -= 1;
    return wait;
  }

  private secondsUntilOne(tokens: number): number {
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.perMs / 1000);
  }

  private refill(key: string): { tokens: number; at: number } {
    const now = this.clock();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      // Full buckets hold nothing worth keeping; drop them before the map grows without bound, and when every one
      // is in use (callers from very many addresses), the oldest.
      if (this.buckets.size >= MAX_KEYS) for (const [k, b] of this.buckets) if (b.tokens + (now - b.at) * this.perMs >= this.perMinute) this.buckets.delete(k);
      if (this.buckets.size >= MAX_KEYS) this.buckets.delete(this.buckets.keys().next().value ?? '');
      bucket = { tokens: this.perMinute, at: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    return bucket;
  }
}

/**
 * 429 with Retry-After.
 * @param retryS - seconds to wait.
 * @param what - what there were too many of.
 * @returns the error.
 */
export function throttled(retryS: number, what: string): HttpError {
  return new HttpError(429, [{ code: 'throttled', message: `Too many ${what}; retry in ${retryS} s` }], { 'Retry-After': String(retryS) });
}

/**
 * Builds the rate-limit middleware.
 * @param perMinute - calls allowed per minute per key.
 * @param keyOf - the key of a request (client issuer or address).
 * @param clock - milliseconds now.
 * @returns the middleware.
 */
export function rateLimit(perMinute: number, keyOf: (req: Request, res: Response) => string, clock: () => number = Date.now) {
  const buckets = new TokenBuckets(perMinute, clock);
  return (req: Request, res: Response, next: NextFunction): void => {
    const retry = buckets.take(keyOf(req, res));
    next(retry > 0 ? throttled(retry, 'calls') : undefined);
  };
}
