import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BearerError, OAuthError, Problem } from '../lib/errors.ts';
import type { AppEnv } from '../workers/app-env.ts';
import { onError } from '../workers/errors.ts';
import { requestLogger } from '../workers/middleware/logger.ts';
import { requestId } from '../workers/middleware/request-id.ts';
import { validate } from '../workers/validate.ts';

/** A tiny app wired with the platform's real error handler, throwing each error type. */
const app = new Hono<AppEnv>()
  .use(requestId())
  .use(requestLogger())
  .post('/oauth2/token', () => {
    throw new OAuthError('invalid_grant', 'The authorization code is invalid or expired.', { internal: 'code hash abc not found' });
  })
  .get('/oauth2/crash', () => {
    throw new Error('secret detail: db password hunter2');
  })
  .get('/api/me', () => {
    throw new BearerError('invalid_token', 'The access token expired');
  })
  .get('/api/scope', () => {
    throw new BearerError('insufficient_scope', 'Needs "admin"');
  })
  .get('/api/crash', () => {
    throw new TypeError('cannot read property x of undefined (secret=hunter2)');
  })
  .post('/api/things', validate('json', z.object({ name: z.string().min(1), size: z.number().int() })), (c) => c.json(c.req.valid('json')))
  .get('/api/conflict', () => {
    throw new Problem(409, 'Conflict', { detail: 'That name is taken.' });
  })
  .onError(onError);

describe('error model', () => {
  it('answers OAuth errors in the RFC 6749 §5.2 shape, not cacheable, without the internal reason', async () => {
    const res = await app.request('/oauth2/token', { method: 'POST' });
    expect(res.status).toBe(400);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json();
    expect(body).toEqual({ error: 'invalid_grant', error_description: 'The authorization code is invalid or expired.' });
  });

  it('answers an unknown error on an OAuth path with server_error, echoing nothing', async () => {
    const res = await app.request('/oauth2/crash');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: 'server_error', error_description: 'The server could not complete the request.' });
    expect(text).not.toContain('hunter2');
  });

  it('answers bearer failures with an RFC 6750 challenge', async () => {
    const res = await app.request('/api/me');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", error_description="The access token expired"');
    const scope = await app.request('/api/scope');
    expect(scope.status).toBe(403);
    expect(scope.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", error_description="Needs \\"admin\\""');
  });

  it('answers other errors with a generic 500 problem that names the request id and nothing else', async () => {
    const res = await app.request('/api/crash', { headers: { 'X-Request-Id': 'req-42' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const text = await res.text();
    expect(text).not.toContain('hunter2');
    expect(JSON.parse(text)).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Something went wrong. Quote request id req-42 when you report it.',
    });
  });

  it('reports validation failures field by field', async () => {
    const res = await app.request('/api/things', { method: 'POST', body: JSON.stringify({ name: '', size: 1.5 }), headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; errors: { path: string }[] };
    expect(body.type).toBe('urn:gatehouse:problem:validation');
    expect(body.errors.map((e) => e.path).sort()).toEqual(['name', 'size']);
  });

  it('passes typed problems through', async () => {
    const res = await app.request('/api/conflict');
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ type: 'about:blank', title: 'Conflict', status: 409, detail: 'That name is taken.' });
  });
});
