import type { MiddlewareHandler } from 'hono';
import { cors as honoCors } from 'hono/cors';
import type { AppEnv } from '../app-env.ts';

/** Headers browser apps send: bearer auth, JSON, Hasura's role header and the AWS SDKs' Cognito headers. */
const ALLOW_HEADERS = ['Authorization', 'Content-Type', 'X-Request-Id', 'X-Hasura-Role', 'X-Amz-Target', 'X-Amz-User-Agent'];

/** Parses the `CORS_ORIGINS` var: a comma-separated allow-list, `*` for any origin, empty for none. */
export function parseCorsOrigins(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((o) => o.trim().replace(/\/$/, ''))
    .filter(Boolean);
}

const cache = new Map<string, MiddlewareHandler>();

/** CORS for browser apps, configured per deployment by the `CORS_ORIGINS` var (no CORS headers when it is empty). */
export const cors = (): MiddlewareHandler<AppEnv> =>
  async function cors(c, next) {
    const origins = parseCorsOrigins(c.env.CORS_ORIGINS);
    if (origins.length === 0) return next();
    const key = origins.join(',');
    let handler = cache.get(key);
    if (!handler) {
      handler = honoCors({
        origin: origins.includes('*') ? '*' : (origin) => (origins.includes(origin) ? origin : null),
        allowHeaders: ALLOW_HEADERS,
        allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
        exposeHeaders: ['X-Request-Id', 'WWW-Authenticate', 'Retry-After', 'x-amzn-errortype', 'x-amzn-requestid'],
        credentials: !origins.includes('*'),
        maxAge: 600,
      });
      cache.set(key, handler);
    }
    return handler(c, next);
  };
