/**
 * A per-client rate limit (token bucket), so one client cannot starve the others: RATE_LIMIT_PER_MINUTE calls,
 * refilled continuously. Over the limit: 429 with Retry-After and an OperationOutcome.
 */
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './outcomes.js';

/**
 * Builds the rate-limit middleware.
 * @param perMinute - calls allowed per minute per key.
 * @param keyOf - the key of a request (client issuer or address).
 * @param clock - milliseconds now.
 * @returns the middleware.
 */
export function rateLimit(perMinute: number, keyOf: (req: Request, res: Response) => string, clock: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const perMs = perMinute / 60_000;
  return (req: Request, res: Response, next: NextFunction): void => {
    const now = clock();
    const key = keyOf(req, res);
    const bucket = buckets.get(key) ?? { tokens: perMinute, at: now };
    bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    buckets.set(key, bucket);
    if (buckets.size > 10_000) for (const [k, b] of buckets) if (b.tokens >= perMinute) buckets.delete(k);
    if (bucket.tokens < 1) {
      const retry = Math.ceil((1 - bucket.tokens) / perMs / 1000);
      next(new HttpError(429, [{ code: 'throttled', message: `Too many calls; retry in ${retry} s` }], { 'Retry-After': String(retry) }));
      return;
    }
    bucket.tokens -= 1;
    next();
  };
}
