import { DurableObject } from 'cloudflare:workers';

/** A token bucket: `tokens` left at time `updatedAt` (ms). */
export type Bucket = { tokens: number; updatedAt: number };

/** The outcome of taking one request's token. */
export type TakeResult = { allowed: boolean; remaining: number; retryAfterSeconds: number };

/**
 * Takes one token from a bucket that holds at most `limit` tokens and refills `limit` per `windowSeconds`, evenly.
 * Pure, so the limiter's arithmetic is tested without a Durable Object. A refused request costs nothing.
 */
export function takeToken(bucket: Bucket | undefined, limit: number, windowSeconds: number, now: number): { bucket: Bucket; result: TakeResult } {
  const perMs = limit / (windowSeconds * 1000);
  const start = bucket ?? { tokens: limit, updatedAt: now };
  const tokens = Math.min(limit, start.tokens + Math.max(0, now - start.updatedAt) * perMs);
  if (tokens >= 1) {
    return { bucket: { tokens: tokens - 1, updatedAt: now }, result: { allowed: true, remaining: Math.floor(tokens - 1), retryAfterSeconds: 0 } };
  }
  return { bucket: { tokens, updatedAt: now }, result: { allowed: false, remaining: 0, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)) } };
}

/**
 * The fallback rate limiter: one object per limit key (`subject:<issuer>|<sub>` or `ip:<address>`), reached by RPC.
 * Buckets live in memory: an object is evicted only after it has been idle, and an idle key has a full bucket anyway,
 * so nothing is written to storage on the hot path. Used where no Workers Rate Limiting binding is configured
 * (always under `wrangler dev`).
 */
export class RateLimiter extends DurableObject<Env> {
  private readonly buckets = new Map<string, Bucket>();

  /** Takes one request's token under the rule `limit` per `windowSeconds`. */
  take(limit: number, windowSeconds: number): TakeResult {
    if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(windowSeconds) || windowSeconds < 1) throw new RangeError('invalid rate rule');
    const rule = `${limit}/${windowSeconds}`;
    const { bucket, result } = takeToken(this.buckets.get(rule), limit, windowSeconds, Date.now());
    this.buckets.set(rule, bucket);
    return result;
  }
}
