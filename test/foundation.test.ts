import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { app } from '../workers/app.ts';

const get = (path: string, init?: RequestInit) => exports.default.fetch(`http://gatehouse.test${path}`, init);

/** Runs the real app with some vars changed, as a deployment with other settings would. */
async function fetchWith(vars: Partial<Env>, path: string, init?: RequestInit) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://gatehouse.test${path}`, init), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe('GET /health', () => {
  it('reports D1 as ok and the package version', async () => {
    const res = await get('/health');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ status: 'ok', version: pkg.version, checks: { d1: 'ok' } });
  });

  it('answers 503 when D1 fails', async () => {
    const brokenDb = { prepare: () => ({ first: () => Promise.reject(new Error('D1 is down')) }) } as unknown as D1Database;
    const res = await fetchWith({ DB: brokenDb }, '/health');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'degraded', checks: { d1: 'error' } });
  });
});

describe('request id', () => {
  it('generates a UUID when the caller sends none', async () => {
    const res = await get('/health');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('echoes a safe caller id and replaces an unsafe one', async () => {
    expect((await get('/health', { headers: { 'X-Request-Id': 'abc-123.x' } })).headers.get('x-request-id')).toBe('abc-123.x');
    const unsafe = (await get('/health', { headers: { 'X-Request-Id': 'a b<script>' } })).headers.get('x-request-id');
    expect(unsafe).not.toBe('a b<script>');
    expect(unsafe).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('security headers', () => {
  it('sets conservative defaults on every response', async () => {
    const res = await get('/health');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });

  it('adds HSTS over https', async () => {
    const res = await exports.default.fetch('https://gatehouse.test/health');
    expect(res.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
  });
});

describe('CORS', () => {
  it('sends no CORS headers when CORS_ORIGINS is empty', async () => {
    const res = await get('/health', { headers: { Origin: 'https://app.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows listed origins only, with the AWS SDK headers in preflight', async () => {
    const vars = { CORS_ORIGINS: 'https://app.example, https://other.example/' };
    const ok = await fetchWith(vars, '/health', { headers: { Origin: 'https://other.example' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://other.example');
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    const denied = await fetchWith(vars, '/health', { headers: { Origin: 'https://evil.example' } });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetchWith(vars, '/', {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-amz-target' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-amz-target');
  });
});

describe('errors and limits', () => {
  it('answers unknown paths with a problem document', async () => {
    const res = await get('/no/such/path');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'No route for GET /no/such/path.' });
  });

  it('refuses a body over MAX_BODY_BYTES with 413', async () => {
    const res = await fetchWith({ MAX_BODY_BYTES: '1024' }, '/anything', { method: 'POST', body: 'x'.repeat(2048) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ title: 'Payload Too Large', status: 413 });
  });

  it('accepts a body under the limit (and then routes it)', async () => {
    const res = await fetchWith({ MAX_BODY_BYTES: '1024' }, '/anything', { method: 'POST', body: 'x'.repeat(512) });
    expect(res.status).toBe(404);
  });
});
