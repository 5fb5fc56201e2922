import { env } from 'cloudflare:workers';
import { UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { lazyMigrate } from '../workers/auth/cognito/lazy-migration.ts';
import { createLogger } from '../workers/middleware/logger.ts';
import { signIn } from '../workers/auth/signin.ts';
import { fernet } from './cognito.test-fixture.ts';
import { db, seedUser, uniqueEmail } from './support/auth-fixtures.ts';

/**
 * Lazy migration against a scripted old pool (a fetcher that answers InitiateAuth and GetUser as Cognito does). The
 * end-to-end test in test/e2e/cognito-migration.test.ts runs it against a second real Worker instead.
 */
const OLD_PASSWORD = 'the password in the old pool';
const cfg = { endpoint: 'https://cognito-idp.eu-west-1.amazonaws.com/', clientId: 'oldclient', clientSecret: undefined, timeoutMs: 1000 };
const log = createLogger({ test: 'lazy' });

function oldPool(users: Record<string, { sub: string; attributes?: Record<string, string>; groups?: string[] }>) {
  const calls: string[] = [];
  const fetcher = async (_url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const op = new Headers(init?.headers).get('x-amz-target')?.split('.')[1] ?? '';
    calls.push(op);
    const body = JSON.parse(String(init?.body)) as { AuthParameters?: Record<string, string>; AccessToken?: string };
    const json = (status: number, value: unknown) => new Response(JSON.stringify(value), { status, headers: { 'Content-Type': 'application/x-amz-json-1.1' } });
    if (op === 'InitiateAuth') {
      const name = body.AuthParameters?.USERNAME ?? '';
      const user = users[name];
      if (!user || body.AuthParameters?.PASSWORD !== OLD_PASSWORD) return json(400, { __type: 'NotAuthorizedException', message: 'Incorrect username or password.' });
      const idToken = new UnsecuredJWT({ sub: user.sub, email: name, email_verified: true, 'cognito:groups': user.groups ?? [] }).encode();
      return json(200, { AuthenticationResult: { AccessToken: `access-${name}`, IdToken: idToken, RefreshToken: 'r', ExpiresIn: 3600, TokenType: 'Bearer' }, ChallengeParameters: {} });
    }
    if (op === 'GetUser') {
      const name = body.AccessToken?.replace(/^access-/, '') ?? '';
      const user = users[name];
      const attrs = { sub: user?.sub ?? '', email: name, email_verified: 'true', ...user?.attributes };
      return json(200, { Username: user?.sub, UserAttributes: Object.entries(attrs).map(([Name, Value]) => ({ Name, Value })) });
    }
    return json(400, { __type: 'UnknownOperationException' });
  };
  return { fetcher: fetcher as typeof fetch, calls };
}

const ctx = (fetcher: typeof fetch) => ({ db: db(), fernet: fernet(), poolName: 'gatehouse', log, fetcher });
const policy = { maxFailures: 50, lockoutSeconds: 60 };

describe('lazy migration', () => {
  it('creates an unknown user with the old sub, attributes and groups when the old pool accepts the password', async () => {
    const email = uniqueEmail('lazy');
    const sub = crypto.randomUUID();
    const pool = oldPool({ [email]: { sub, attributes: { name: 'Ada', 'custom:tenant': 't9' }, groups: ['editors'] } });
    expect(await lazyMigrate(ctx(pool.fetcher), cfg, { username: email, password: OLD_PASSWORD, ip: undefined })).toBe('migrated');
    expect(pool.calls).toEqual(['InitiateAuth', 'GetUser']);
    const row = await env.DB.prepare('SELECT id, status, email_verified, attributes FROM users WHERE username = ?').bind(email).first();
    expect(row).toEqual({ id: sub, status: 'CONFIRMED', email_verified: 1, attributes: JSON.stringify({ name: 'Ada', 'custom:tenant': 't9' }) });
    expect(await env.DB.prepare('SELECT group_name FROM user_groups WHERE user_id = ?').bind(sub).first('group_name')).toBe('editors');
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM srp_verifiers WHERE user_id = ?').bind(sub).first('n')).toBe(1);
    expect((await signIn(db(), policy, { email, password: OLD_PASSWORD, ip: undefined })).kind).toBe('ok');
    // Known users are not sent to the old pool again.
    expect(await lazyMigrate(ctx(pool.fetcher), cfg, { username: email, password: OLD_PASSWORD, ip: undefined })).toBe('skipped');
    expect(pool.calls).toHaveLength(2);
  });

  it('creates nothing when the old pool refuses the password, is down, or answers garbage', async () => {
    const email = uniqueEmail('lazy-no');
    const pool = oldPool({ [email]: { sub: crypto.randomUUID() } });
    expect(await lazyMigrate(ctx(pool.fetcher), cfg, { username: email, password: 'wrong', ip: undefined })).toBe('failed');
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    expect(await lazyMigrate(ctx(down), cfg, { username: email, password: OLD_PASSWORD, ip: undefined })).toBe('failed');
    const garbage = (async () => new Response('<html>', { status: 200 })) as typeof fetch;
    expect(await lazyMigrate(ctx(garbage), cfg, { username: email, password: OLD_PASSWORD, ip: undefined })).toBe('failed');
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM users WHERE username = ?').bind(email).first('n')).toBe(0);
  });

  it('completes an imported RESET_REQUIRED user with the same sub, and refuses one whose sub differs', async () => {
    const imported = await seedUser({ status: 'RESET_REQUIRED', password: undefined });
    const pool = oldPool({ [imported.email]: { sub: imported.id } });
    expect(await lazyMigrate(ctx(pool.fetcher), cfg, { username: imported.email, password: OLD_PASSWORD, ip: undefined })).toBe('migrated');
    expect((await signIn(db(), policy, { email: imported.email, password: OLD_PASSWORD, ip: undefined })).kind).toBe('ok');
    const other = await seedUser({ status: 'RESET_REQUIRED', password: undefined });
    const mismatched = oldPool({ [other.email]: { sub: crypto.randomUUID() } });
    expect(await lazyMigrate(ctx(mismatched.fetcher), cfg, { username: other.email, password: OLD_PASSWORD, ip: undefined })).toBe('failed');
    expect(await env.DB.prepare('SELECT status FROM users WHERE id = ?').bind(other.id).first('status')).toBe('RESET_REQUIRED');
  });

  it('skips users who already have a password here, without asking the old pool', async () => {
    const existing = await seedUser();
    const pool = oldPool({ [existing.email]: { sub: existing.id } });
    expect(await lazyMigrate(ctx(pool.fetcher), cfg, { username: existing.email, password: OLD_PASSWORD, ip: undefined })).toBe('skipped');
    expect(pool.calls).toEqual([]);
  });
});
