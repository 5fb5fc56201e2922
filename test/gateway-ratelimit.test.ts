import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { takeToken } from '../durable-objects/rate-limiter.ts';
import { callWith, expectProblem, signIn } from './gateway.test-fixture.ts';

const echo = { fetch: async () => Response.json({ data: {} }) };
const ip = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID().slice(0, 4)}`;
const post = (headers: Record<string, string> = {}): RequestInit => ({ method: 'POST', body: '{"query":"{ a }"}', headers: { 'content-type': 'application/json', ...headers } });

describe('token bucket arithmetic', () => {
  it('allows `limit` at once, then one per window/limit, and says when to retry', () => {
    let bucket;
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) {
      const r = takeToken(bucket, 3, 60, t0);
      bucket = r.bucket;
      expect(r.result).toEqual({ allowed: true, remaining: 2 - i, retryAfterSeconds: 0 });
    }
    const refused = takeToken(bucket, 3, 60, t0);
    expect(refused.result).toEqual({ allowed: false, remaining: 0, retryAfterSeconds: 20 });
    expect(takeToken(refused.bucket, 3, 60, t0 + 10_000).result.retryAfterSeconds).toBe(10);
    expect(takeToken(refused.bucket, 3, 60, t0 + 20_000).result.allowed).toBe(true);
    expect(takeToken(refused.bucket, 3, 60, t0 + 3_600_000).result.remaining).toBe(2);
  });
});

describe('rate limits (RATE_LIMITER Durable Object fallback)', () => {
  it('limits per subject with 429 and Retry-After', async () => {
    const { access } = await signIn();
    const vars = { HASURA: echo, RATE_LIMIT_PER_SUBJECT: '2/60', RATE_LIMIT_PER_IP: 'off' };
    expect((await callWith(vars, '/v1/graphql', access, post())).status).toBe(200);
    expect((await callWith(vars, '/v1/graphql', access, post())).status).toBe(200);
    const res = await callWith(vars, '/v1/graphql', access, post());
    const body = await expectProblem(res, 429);
    expect(body.type).toBe('urn:gatehouse:problem:rate-limited');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another user is not affected.
    expect((await callWith(vars, '/v1/graphql', (await signIn()).access, post())).status).toBe(200);
  });

  it('limits per IP before authentication, so token guessing counts too', async () => {
    const vars = { HASURA: echo, RATE_LIMIT_PER_IP: '2/60' };
    const from = { 'cf-connecting-ip': ip() };
    expect((await callWith(vars, '/v1/graphql', 'guess-1', post(from))).status).toBe(401);
    expect((await callWith(vars, '/v1/graphql', 'guess-2', post(from))).status).toBe(401);
    const res = await callWith(vars, '/v1/graphql', 'guess-3', post(from));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await callWith(vars, '/v1/graphql', 'guess-4', post({ 'cf-connecting-ip': ip() }))).status).toBe(401);
  });

  it('applies to the REST API too', async () => {
    const { access } = await signIn();
    const vars = { RATE_LIMIT_PER_SUBJECT: '1/60' };
    expect((await callWith(vars, '/api/users/me', access)).status).toBe(200);
    expect((await callWith(vars, '/api/users/me', access)).status).toBe(429);
  });

  it('uses a Workers Rate Limiting binding where one is configured', async () => {
    const { access } = await signIn();
    const keys: string[] = [];
    const binding = { limit: async ({ key }: { key: string }) => (keys.push(key), { success: keys.length < 2 }) };
    const vars = { HASURA: echo, SUBJECT_RATE_LIMIT: binding, RATE_LIMIT_PER_SUBJECT: '100/30', RATE_LIMIT_PER_IP: 'off' };
    expect((await callWith(vars, '/v1/graphql', access, post())).status).toBe(200);
    const res = await callWith(vars, '/v1/graphql', access, post());
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(keys[0]).toMatch(/^own\|[0-9a-f-]{36}$/);
  });

  it('lets requests through when the limiter itself fails, and when limits are off', async () => {
    const { access } = await signIn();
    const broken = { getByName: () => ({ take: () => Promise.reject(new Error('overloaded')) }) };
    expect((await callWith({ HASURA: echo, RATE_LIMITER: broken, RATE_LIMIT_PER_SUBJECT: '1/60' }, '/v1/graphql', access, post())).status).toBe(200);
    expect((await callWith({ HASURA: echo, RATE_LIMITER: broken, RATE_LIMIT_PER_SUBJECT: '1/60' }, '/v1/graphql', access, post())).status).toBe(200);
    expect(env.RATE_LIMITER).toBeDefined();
  });

  it('refuses a malformed limit setting with a 500 that names no secret', async () => {
    const { access } = await signIn();
    const res = await callWith({ HASURA: echo, RATE_LIMIT_PER_SUBJECT: 'lots' }, '/v1/graphql', access, post());
    expect(res.status).toBe(500);
  });
});
