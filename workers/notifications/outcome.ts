/**
 * The consumer's decisions, as pure functions: what an upstream answer means for a delivery (delivered, retry later,
 * subscription gone, failed for good), how long to wait before the queue redelivers, and which delivery statuses are
 * final. The channel senders do the I/O and call these.
 */
import { QUEUE_MAX_DELAY_SECONDS } from './config.ts';

/** What one delivery attempt came to. `retryAfterSeconds` is the upstream's `Retry-After`, when it sent one. */
export type Outcome =
  | { kind: 'delivered'; latencyMs: number }
  | { kind: 'retry'; error: string; latencyMs: number; retryAfterSeconds?: number }
  | { kind: 'gone'; error: string; latencyMs: number }
  | { kind: 'failed'; error: string; latencyMs: number };

/** The `deliveries.status` an outcome is recorded as. */
export const STATUS_OF = { delivered: 'delivered', retry: 'retrying', gone: 'gone', failed: 'failed' } as const;

/** Statuses that are never sent again: a redelivered message skips these subscriptions (idempotency). */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['delivered', 'gone', 'failed', 'dead']);

/** Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text), QUEUE_MAX_DELAY_SECONDS);
  // HTTP-date forms (IMF-fixdate, RFC 850, asctime) all start with a day name; Date.parse alone accepts far more.
  const date = /^[A-Za-z]{3}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, Math.ceil((date - now) / 1000)), QUEUE_MAX_DELAY_SECONDS);
}

/** Which statuses mean the subscription no longer exists, per channel. */
export type GonePolicy = 'push' | 'webhook';

/**
 * Classifies an HTTP answer of a push service (RFC 8030 §5, §8.3: 404/410 mean the subscription expired) or a webhook
 * receiver (only 410 means "stop sending"; a 404 may be a deploy in progress). 408, 429 and 5xx are worth retrying;
 * any other status is a permanent failure for this message (redirects are not followed, so 3xx is one too).
 */
export function classifyHttp(status: number, retryAfter: string | null, policy: GonePolicy, latencyMs: number, now = Date.now()): Outcome {
  if (status >= 200 && status < 300) return { kind: 'delivered', latencyMs };
  const error = `HTTP ${status}`;
  if (status === 410 || (status === 404 && policy === 'push')) return { kind: 'gone', error, latencyMs };
  if (status === 408 || status === 429 || status >= 500) {
    const seconds = parseRetryAfter(retryAfter, now);
    return seconds === undefined ? { kind: 'retry', error, latencyMs } : { kind: 'retry', error, latencyMs, retryAfterSeconds: seconds };
  }
  return { kind: 'failed', error, latencyMs };
}

/** The backoff settings. */
export type BackoffConfig = { retryBaseSeconds: number; retryMaxSeconds: number };

/**
 * The delay before attempt `attempt + 1` of a message: exponential (base × 2^(attempt−1)) with "equal jitter" (half
 * fixed, half random) so that many failing messages do not come back in step, at least the longest `Retry-After`
 * an upstream asked for, and at most `retryMaxSeconds` (and the Queues limit of 12 hours).
 */
export function retryDelaySeconds(attempt: number, retries: readonly Outcome[], cfg: BackoffConfig, random: () => number = Math.random): number {
  const exp = cfg.retryBaseSeconds * 2 ** Math.max(0, Math.min(attempt - 1, 20));
  const jittered = Math.round(exp / 2 + (random() * exp) / 2);
  const asked = Math.max(0, ...retries.map((r) => (r.kind === 'retry' ? (r.retryAfterSeconds ?? 0) : 0)));
  return Math.min(Math.max(jittered, asked), cfg.retryMaxSeconds, QUEUE_MAX_DELAY_SECONDS);
}

/** A short, secret-free description of a failed fetch (never the URL, which may carry a token). */
export function fetchError(err: unknown, timeoutMs: number): string {
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') return `timeout after ${timeoutMs} ms`;
  return 'network error';
}
