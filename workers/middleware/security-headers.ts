import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';

/** Headers every response carries unless the handler set its own (hosted pages set a looser CSP for their styles). */
const DEFAULTS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Cross-Origin-Resource-Policy': 'same-site',
};

/** Adds conservative security headers, and HSTS when the request came over HTTPS. */
export const securityHeaders = (opts: { skip?: (path: string) => boolean } = {}): MiddlewareHandler<AppEnv> =>
  async function securityHeaders(c, next) {
    await next();
    if (opts.skip?.(c.req.path)) return;
    for (const [name, value] of Object.entries(DEFAULTS)) {
      if (!c.res.headers.has(name)) c.res.headers.set(name, value);
    }
    if (new URL(c.req.url).protocol === 'https:' && !c.res.headers.has('Strict-Transport-Security')) {
      c.res.headers.set('Strict-Transport-Security', 'max-age=63072000; includeSubDomains');
    }
  };
