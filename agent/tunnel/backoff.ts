/**
 * Reconnect delays: "full jitter" exponential backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"): the
 * n-th consecutive failure waits a uniformly random time in [0, min(cap, base · 2ⁿ)). Spreading retries over the
 * whole interval is what keeps a fleet of devices from reconnecting in lockstep after an outage of the cloud.
 */

/** Options of `createBackoff`; `random` is injectable so tests can pin the jitter. */
export interface BackoffOptions {
  /** The ceiling of the first delay, in ms (default 1 s). */
  readonly baseMs?: number;
  /** The largest ceiling, in ms (default 60 s). */
  readonly capMs?: number;
  /** A source of uniform numbers in [0, 1) (default `Math.random`). */
  readonly random?: () => number;
}

/** The backoff state of one reconnect loop. */
export interface Backoff {
  /** The delay before the next attempt; each call counts one more consecutive failure. */
  next(): number;
  /** The upper bound the next call to `next` draws from, for logs and tests. */
  ceiling(): number;
  /** How many delays were drawn since the last reset. */
  failures(): number;
  /** Forgets the failures, after a connection that stayed up long enough to count as stable. */
  reset(): void;
  /** A long delay in [cap/2, cap), for a connection another agent took over: two agents sharing an identity must not flap every second. */
  replaced(): number;
}

/** The full-jitter formula on its own: a delay in [0, min(cap, base · 2^failures)) for a uniform `r` in [0, 1). */
export function fullJitter(failures: number, r: number, baseMs: number, capMs: number): number {
  // 2^failures overflows to Infinity for large counts, which min() then caps.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, failures));
  return Math.floor(Math.min(Math.max(r, 0), 1) * ceiling);
}

/** Creates the backoff of one reconnect loop (base 1 s, cap 60 s by default). */
export function createBackoff(opts: BackoffOptions = {}): Backoff {
  const baseMs = opts.baseMs ?? 1000;
  const capMs = opts.capMs ?? 60_000;
  const random = opts.random ?? Math.random;
  if (!(baseMs > 0) || !(capMs >= baseMs)) throw new RangeError('backoff needs 0 < baseMs <= capMs');
  let failures = 0;
  return {
    next() {
      const delay = fullJitter(failures, random(), baseMs, capMs);
      failures++;
      return delay;
    },
    ceiling: () => Math.min(capMs, baseMs * 2 ** failures),
    failures: () => failures,
    reset() {
      failures = 0;
    },
    replaced: () => Math.floor(capMs / 2 + (Math.min(Math.max(random(), 0), 1) * capMs) / 2),
  };
}
