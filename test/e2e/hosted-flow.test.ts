import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { browserLogin, cookieJar, parseForms, signUpUser } from './util/browser-login.ts';

const baseUrl = inject('baseUrl');
const fx = inject('fixtures');

/** An authorize URL for the shared public client with a fresh S256 challenge. */
function authorizeUrl(state: string, extra: Record<string, string> = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL('/oauth2/authorize', baseUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: fx.publicClient.clientId,
    redirect_uri: fx.publicClient.redirectUri,
    scope: 'openid email',
    state,
    nonce: `n-${state}`,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...extra,
  }).toString();
  return url.href;
}

describe('hosted pages against the real Worker', () => {
  it('signs a user up over HTTP (dev mailbox code), then the browser-style flow lands on the redirect_uri with a code', async () => {
    const creds = { email: `hosted-${randomBytes(4).toString('hex')}@example.com`, password: 'sturdy walnut harbor 42' };
    await signUpUser(baseUrl, creds);
    const callback = await browserLogin(authorizeUrl('e2e-state-1'), creds);
    expect(`${callback.origin}${callback.pathname}`).toBe(fx.publicClient.redirectUri);
    expect(callback.searchParams.get('state')).toBe('e2e-state-1');
    expect(callback.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(callback.searchParams.get('iss')).toBe(baseUrl);
    expect(callback.searchParams.get('error')).toBeNull();
  });

  it('sets a session cookie without Secure on plain-http 127.0.0.1, HttpOnly and SameSite=Lax', async () => {
    const jar = cookieJar();
    const page = await fetch(`${baseUrl}/login`);
    jar.store(page);
    const form = parseForms(await page.text()).find((f) => f.action === '/login');
    const res = await fetch(`${baseUrl}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { Cookie: jar.header(), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form?.hidden, email: fx.user.email, password: fx.user.password }),
    });
    expect(res.status).toBe(200);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session=')) ?? '';
    expect(cookie.split('; ').slice(1)).toEqual(['Max-Age=86400', 'Path=/', 'HttpOnly', 'SameSite=Lax']);
  });

  it('reports the generic failure when the password is wrong', async () => {
    await expect(browserLogin(authorizeUrl('bad'), { email: fx.user.email.replace('@', '+nobody@'), password: 'not it at all' })).rejects.toThrow(
      /sign-in stopped at \/login \(HTTP 400\): Sign in: Incorrect username or password\./,
    );
  });

  it('serves the dev mailbox as JSON in DEV_MODE', async () => {
    const res = await fetch(`${baseUrl}/dev/mailbox?format=json&to=nobody@example.com`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
  });
});
