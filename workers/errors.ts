import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { BearerError, OAuthError, Problem } from '../lib/errors.ts';
import type { AppEnv } from './app-env.ts';
import { createLogger } from './middleware/logger.ts';

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/** Quotes a value for an RFC 6750 `WWW-Authenticate` auth-param (RFC 9110 §5.6.4 quoted-string). */
const quote = (value: string) => `"${value.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, '')}"`;

/** RFC 6749 §5.2 body with `Cache-Control: no-store`. */
export function oauthErrorResponse(err: OAuthError): Response {
  const headers = { 'Content-Type': 'application/json', ...NO_STORE, ...err.headers };
  return new Response(JSON.stringify({ error: err.error, error_description: err.message }), { status: err.status, headers });
}

/** RFC 6750 §3: the challenge goes in `WWW-Authenticate`; the body repeats it as a problem for humans. */
export function bearerErrorResponse(err: BearerError): Response {
  const challenge = `Bearer error=${quote(err.error)}, error_description=${quote(err.message)}`;
  return problemResponse(
    new Problem(err.status, err.status === 403 ? 'Forbidden' : err.status === 400 ? 'Bad Request' : 'Unauthorized', {
      detail: err.message,
      headers: { 'WWW-Authenticate': challenge },
    }),
  );
}

/** RFC 9457 `application/problem+json`. */
export function problemResponse(p: Problem, instance?: string): Response {
  const body: Record<string, unknown> = { type: p.type, title: p.title, status: p.status };
  if (p.message !== p.title) body.detail = p.message;
  if (instance) body.instance = instance;
  if (p.errors) body.errors = p.errors;
  return new Response(JSON.stringify(body), {
    status: p.status,
    headers: { 'Content-Type': 'application/problem+json', ...NO_STORE, ...p.headers },
  });
}

const isOAuthPath = (path: string) => path.startsWith('/oauth2/');

/**
 * The one place errors become responses. Typed errors get their audience's shape; anything else is logged
 * with the request id and answered with a generic 500 that echoes nothing.
 */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  const log = c.get('log') ?? createLogger({ requestId: c.get('requestId') });
  if (err instanceof OAuthError) {
    if (err.cause) log.warn('oauth error', { error: err.error, internal: String(err.cause) });
    return oauthErrorResponse(err);
  }
  if (err instanceof BearerError) {
    if (err.cause) log.warn('bearer error', { error: err.error, internal: String(err.cause) });
    return bearerErrorResponse(err);
  }
  if (err instanceof Problem) {
    if (err.cause) log.warn('problem', { status: err.status, internal: String(err.cause) });
    return problemResponse(err);
  }
  if (err instanceof HTTPException && err.status < 500) {
    return problemResponse(new Problem(err.status, statusTitle(err.status)));
  }
  log.error('unhandled error', { path: c.req.path, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), stack: err instanceof Error ? err.stack : undefined });
  if (isOAuthPath(c.req.path)) {
    return oauthErrorResponse(new OAuthError('server_error', 'The server could not complete the request.', { status: 500 }));
  }
  return problemResponse(new Problem(500, 'Internal Server Error', { detail: `Something went wrong. Quote request id ${c.get('requestId') ?? 'unknown'} when you report it.` }));
};

/** 404 for every path no sub-app serves. */
export const notFound: NotFoundHandler<AppEnv> = (c: Context<AppEnv>) =>
  problemResponse(new Problem(404, 'Not Found', { detail: `No route for ${c.req.method} ${c.req.path}.` }));

/** The reason phrase for a 4xx status, used as a problem title. */
export function statusTitle(status: number): string {
  const titles: Record<number, string> = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
    409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Content', 429: 'Too Many Requests',
  };
  return titles[status] ?? 'Error';
}
