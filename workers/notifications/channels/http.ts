import type { NotificationsConfig } from '../config.ts';
import { fetchError } from '../outcome.ts';

/** What every channel sender gets: the env, the parsed settings, a `fetch` (replaceable in tests) and the clock. */
export type SendContext = { env: Env; config: NotificationsConfig; fetch: typeof fetch; now: () => number };

/** An upstream's answer, or why there was none, with the time it took. */
export type Exchange = { ok: true; response: Response; latencyMs: number } | { ok: false; error: string; latencyMs: number };

/**
 * POSTs with a deadline and without following redirects (a public URL must not bounce the request to another host,
 * see target-url.ts). Network failures and timeouts come back as values, described without the URL.
 */
export async function post(ctx: SendContext, url: string, init: { headers: Record<string, string>; body: BodyInit }): Promise<Exchange> {
  const started = ctx.now();
  try {
    const response = await ctx.fetch(url, { method: 'POST', ...init, redirect: 'manual', signal: AbortSignal.timeout(ctx.config.httpTimeoutMs) });
    return { ok: true, response, latencyMs: ctx.now() - started };
  } catch (err) {
    return { ok: false, error: fetchError(err, ctx.config.httpTimeoutMs), latencyMs: ctx.now() - started };
  }
}

/** Reads and discards a response body so the connection can be reused; never throws. */
export async function drain(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    /* already consumed or closed */
  }
}
