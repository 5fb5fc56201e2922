import { exports } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { users } from '../schema/index.ts';
import { authorizePath, browser, codeRow, db, hiddenFields, PASSWORD, pkce, REDIRECT, seedClient, seedUser, uniqueEmail } from './auth-hosted-helpers.ts';

const ISSUER = 'http://127.0.0.1:8787';
const get = (path: string) => exports.default.fetch(`http://localhost${path}`, { redirect: 'manual' });

/** Asserts an error redirect to the client (RFC 6749 §4.1.2.1) and returns its parameters. */
function expectErrorRedirect(res: Response, error: string, state = 'st-123') {
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
  expect(location.searchParams.get('error')).toBe(error);
  expect(location.searchParams.get('error_description')?.length).toBeGreaterThan(5);
  expect(location.searchParams.get('state')).toBe(state);
  expect(location.searchParams.get('iss')).toBe(ISSUER);
  expect(location.searchParams.get('code')).toBeNull();
  return location.searchParams;
}

async function expectErrorPage(res: Response, text: RegExp) {
  expect(res.status).toBe(400);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await res.text();
  expect(html).toMatch(text);
  expect(html).toContain('<html lang="en">');
  expect(html).toContain('role="alert"');
}

describe('GET /oauth2/authorize: client and redirect_uri come first and never redirect', () => {
  it('renders an error page for a missing or unknown client_id', async () => {
    await expectErrorPage(await get(await authorizePath('no-such-client')), /application is not registered/);
    await expectErrorPage(await get(await authorizePath('x', { client_id: null })), /does not name an application/);
  });

  it('renders an error page for an unregistered, missing or repeated redirect_uri, even with other errors present', async () => {
    const { client } = await seedClient();
    await expectErrorPage(await get(await authorizePath(client.id, { redirect_uri: 'https://evil.example/callback' })), /redirect_uri\) is not registered/);
    await expectErrorPage(await get(await authorizePath(client.id, { redirect_uri: `${REDIRECT}/` })), /not registered/);
    await expectErrorPage(await get(await authorizePath(client.id, { redirect_uri: null })), /not registered/);
    await expectErrorPage(await get(await authorizePath(client.id, { redirect_uri: 'https://evil.example/', response_type: 'token' })), /not registered/);
    const repeated = `${await authorizePath(client.id)}&redirect_uri=${encodeURIComponent(REDIRECT)}`;
    await expectErrorPage(await get(repeated), /not registered/);
  });
});

describe('GET /oauth2/authorize: later errors redirect to the client', () => {
  it('answers unsupported_response_type and invalid_request for response_type', async () => {
    const { client } = await seedClient();
    expectErrorRedirect(await get(await authorizePath(client.id, { response_type: 'token' })), 'unsupported_response_type');
    expectErrorRedirect(await get(await authorizePath(client.id, { response_type: null })), 'invalid_request');
  });

  it('answers invalid_scope for a scope outside the client or without openid', async () => {
    const { client } = await seedClient();
    expectErrorRedirect(await get(await authorizePath(client.id, { scope: 'openid admin' })), 'invalid_scope');
    expectErrorRedirect(await get(await authorizePath(client.id, { scope: 'email' })), 'invalid_scope');
    expectErrorRedirect(await get(await authorizePath(client.id, { scope: null })), 'invalid_scope');
  });

  it('requires PKCE S256 from a public client', async () => {
    const { client } = await seedClient();
    const none = expectErrorRedirect(await get(await authorizePath(client.id, { code_challenge: null, code_challenge_method: null })), 'invalid_request');
    expect(none.get('error_description')).toMatch(/code_challenge/);
    expectErrorRedirect(await get(await authorizePath(client.id, { code_challenge: 'too-short' })), 'invalid_request');
    expectErrorRedirect(await get(await authorizePath(client.id, { code_challenge_method: 'S512' })), 'invalid_request');
    expectErrorRedirect(await get(await authorizePath(client.id, { code_challenge: null })), 'invalid_request');
  });

  it('refuses plain PKCE (explicit or by default) unless the client allows it', async () => {
    const { client } = await seedClient();
    const plain = expectErrorRedirect(await get(await authorizePath(client.id, { code_challenge_method: 'plain' })), 'invalid_request');
    expect(plain.get('error_description')).toMatch(/plain/);
    expectErrorRedirect(await get(await authorizePath(client.id, { code_challenge_method: null })), 'invalid_request');
    const { client: legacy } = await seedClient({ allowPlainPkce: true });
    const res = await get(await authorizePath(legacy.id, { code_challenge_method: 'plain' }));
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(/^\/login\?request=/);
  });

  it('lets a confidential client omit PKCE', async () => {
    const { client } = await seedClient({ confidential: true });
    const res = await get(await authorizePath(client.id, { code_challenge: null, code_challenge_method: null }));
    expect(res.headers.get('location')).toMatch(/^\/login\?request=/);
  });

  it('answers login_required for prompt=none without a session, and rejects prompt=none with others', async () => {
    const { client } = await seedClient();
    expectErrorRedirect(await get(await authorizePath(client.id, { prompt: 'none' })), 'login_required');
    expectErrorRedirect(await get(await authorizePath(client.id, { prompt: 'none login' })), 'invalid_request');
    expectErrorRedirect(await get(await authorizePath(client.id, { prompt: 'bogus' })), 'invalid_request');
  });

  it('refuses identity_provider (no federation configured) but accepts COGNITO, the pool itself', async () => {
    const { client } = await seedClient();
    const idp = expectErrorRedirect(await get(await authorizePath(client.id, { identity_provider: 'AzureAD' })), 'invalid_request');
    expect(idp.get('error_description')).toBe('Unknown identity provider.');
    expect((await get(await authorizePath(client.id, { identity_provider: 'COGNITO' }))).headers.get('location')).toMatch(/^\/login\?/);
  });

  it('refuses a response_mode other than query, repeated parameters and a bad max_age', async () => {
    const { client } = await seedClient();
    expectErrorRedirect(await get(await authorizePath(client.id, { response_mode: 'fragment' })), 'invalid_request');
    expectErrorRedirect(await get(await authorizePath(client.id, { max_age: '-1' })), 'invalid_request');
    expectErrorRedirect(await get(`${await authorizePath(client.id)}&scope=openid`), 'invalid_request');
    expect((await get(await authorizePath(client.id, { response_mode: 'query' }))).status).toBe(302);
  });

  it('answers unauthorized_client for a client without the code grant, and refuses request objects', async () => {
    const { client: machine } = await seedClient({ confidential: true, grantTypes: ['client_credentials'] });
    expectErrorRedirect(await get(await authorizePath(machine.id)), 'unauthorized_client');
    const { client } = await seedClient();
    expectErrorRedirect(await get(await authorizePath(client.id, { request: 'eyJhbGciOiJub25lIn0.e30.' })), 'request_not_supported');
    expectErrorRedirect(await get(await authorizePath(client.id, { request_uri: 'https://app.example/r' })), 'request_uri_not_supported');
  });

  it('omits state from the error redirect when none was sent, and keeps the redirect_uri query', async () => {
    const { client } = await seedClient();
    const res = await get(await authorizePath(client.id, { state: null, scope: 'openid admin', redirect_uri: 'https://app.example/cb?tenant=a%20b' }));
    expect(res.headers.get('location')).toMatch(/^https:\/\/app\.example\/cb\?tenant=a%20b&error=invalid_scope&/);
    expect(new URL(res.headers.get('location') ?? '').searchParams.has('state')).toBe(false);
  });
});

describe('sign-in through the code flow', () => {
  it('signs in, sets a signed session cookie, and redirects with a code and the state', async () => {
    const { client } = await seedClient();
    const user = await seedUser();
    const b = browser();
    const { challenge } = await pkce();
    const start = await b.get(await authorizePath(client.id, { code_challenge: challenge, state: 'xyz', nonce: 'nonce-1' }));
    const loginPath = start.headers.get('location') ?? '';
    const res = await b.submit(loginPath, '/login', { email: user.email.toUpperCase(), password: PASSWORD });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('state')).toBe('xyz');
    expect(location.searchParams.get('iss')).toBe(ISSUER);
    const code = location.searchParams.get('code') ?? '';
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const grant = await codeRow(code);
    expect(grant).toMatchObject({ clientId: client.id, userId: user.id, redirectUri: REDIRECT, scopes: ['openid', 'email'], nonce: 'nonce-1', codeChallenge: challenge, codeChallengeMethod: 'S256', usedAt: null });

    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session='));
    expect(cookie).toMatch(/^gatehouse_session=[A-Za-z0-9_-]{43}\.[A-Za-z0-9%]+; Max-Age=86400; Path=\/; HttpOnly; SameSite=Lax$/);
  });

  it('marks the session cookie Secure on anything but plain-http loopback', async () => {
    const { client } = await seedClient();
    const user = await seedUser();
    const b = browser({ origin: 'https://gatehouse.test' });
    const start = await b.get(await authorizePath(client.id));
    const res = await b.submit(start.headers.get('location') ?? '', '/login', { email: user.email, password: PASSWORD });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session=')) ?? '';
    expect(cookie.split('; ')).toEqual(expect.arrayContaining(['Secure', 'HttpOnly', 'SameSite=Lax', 'Path=/']));
  });

  it('issues a code at once on a second authorize with the session, with the first auth_time', async () => {
    const { client } = await seedClient();
    const user = await seedUser();
    const b = browser();
    const start = await b.get(await authorizePath(client.id));
    const first = await b.submit(start.headers.get('location') ?? '', '/login', { email: user.email, password: PASSWORD });
    const firstGrant = await codeRow(new URL(first.headers.get('location') ?? '').searchParams.get('code') ?? '');

    const again = await b.get(await authorizePath(client.id, { state: 'second' }));
    expect(again.status).toBe(302);
    const location = new URL(again.headers.get('location') ?? '');
    expect(location.searchParams.get('state')).toBe('second');
    const grant = await codeRow(location.searchParams.get('code') ?? '');
    expect(grant?.userId).toBe(user.id);
    expect(grant?.authTime).toBe(firstGrant?.authTime);

    const silent = await b.get(await authorizePath(client.id, { prompt: 'none' }));
    expect(new URL(silent.headers.get('location') ?? '').searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('shows the form for prompt=login or an exceeded max_age despite the session', async () => {
    const { client } = await seedClient();
    const user = await seedUser();
    const b = browser();
    const start = await b.get(await authorizePath(client.id));
    await b.submit(start.headers.get('location') ?? '', '/login', { email: user.email, password: PASSWORD });
    await new Promise((r) => setTimeout(r, 1100));
    for (const extra of [{ prompt: 'login' }, { max_age: '0' }] as Record<string, string>[]) {
      const res = await b.get(await authorizePath(client.id, extra));
      expect(res.headers.get('location')).toMatch(/^\/login\?request=/);
      const form = await b.get(res.headers.get('location') ?? '');
      expect(await form.text()).toContain('<form method="post" action="/login">');
    }
    expect(new URL((await b.get(await authorizePath(client.id, { max_age: '3600' }))).headers.get('location') ?? '', 'http://x').searchParams.has('code')).toBe(true);
  });

  it('does not give codes to a session whose user was disabled', async () => {
    const { client } = await seedClient();
    const user = await seedUser();
    const b = browser();
    const start = await b.get(await authorizePath(client.id));
    await b.submit(start.headers.get('location') ?? '', '/login', { email: user.email, password: PASSWORD });
    await db().update(users).set({ enabled: false }).where(eq(users.id, user.id));
    expectErrorRedirect(await b.get(await authorizePath(client.id, { prompt: 'none' })), 'login_required');
  });

  it('renders the sign-in page accessibly, with a CSP allowing its style and the client as form target', async () => {
    const { client } = await seedClient();
    const b = browser();
    const start = await b.get(await authorizePath(client.id));
    const res = await b.get(start.headers.get('location') ?? '');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; form-action 'self' https:\/\/app\.example; base-uri 'none'; frame-ancestors 'none'/);
    const html = await res.text();
    expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true);
    expect(html.match(/<h1>/g)).toHaveLength(1);
    expect(html).toContain('<label for="f-email">Email address</label>');
    expect(html).toContain('<label for="f-password">Password</label>');
    expect(html).not.toContain('<script');
    expect(Object.keys(hiddenFields(html)).sort()).toEqual(['csrf', 'request']);
  });

  it('hands Cognito-style /login?client_id=… to the authorization endpoint', async () => {
    const res = await get(`/login?client_id=abc&response_type=code&redirect_uri=${encodeURIComponent(REDIRECT)}`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/oauth2/authorize?client_id=abc&response_type=code&redirect_uri=${encodeURIComponent(REDIRECT)}`);
  });

  it('shows a signed-in page when /login was opened without an app', async () => {
    const user = await seedUser({ email: uniqueEmail('direct') });
    const b = browser();
    const res = await b.submit('/login', '/login', { email: user.email, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`You are signed in as <strong>${user.email}</strong>`);
    expect(b.jar.has('gatehouse_session')).toBe(true);
  });
});
