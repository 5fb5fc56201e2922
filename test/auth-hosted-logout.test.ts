import { env, exports } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { generateKeyPair, SignJWT, type CryptoKey as JoseKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { loginSessions } from '../schema/index.ts';
import { keyRing } from '../workers/auth/keys.ts';
import { authorizePath, browser, db, fetchWith, PASSWORD, seedClient, seedUser, uniqueEmail } from './auth-hosted-helpers.ts';

const ISSUER = 'http://127.0.0.1:8787';
const BYE = 'https://app.example/bye';

/** A browser signed in to a fresh client, with the client. */
async function signedIn() {
  const { client } = await seedClient();
  const user = await seedUser();
  const b = browser();
  const start = await b.get(await authorizePath(client.id));
  await b.submit(start.headers.get('location') ?? '', '/login', { email: user.email, password: PASSWORD });
  expect(b.jar.has('gatehouse_session')).toBe(true);
  return { b, client, user };
}

/** An ID token like the token endpoint's, expired an hour ago (RP-Initiated Logout accepts expired hints). */
async function idToken(claims: { aud: string; iss?: string; sub: string }, key?: { kid: string; privateKey: JoseKey | CryptoKey }) {
  const signer = key ?? (await keyRing(env.JWT_SIGNING_KEYS)).signer;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ token_use: 'id' })
    .setProtectedHeader({ alg: 'RS256', kid: signer.kid })
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud)
    .setSubject(claims.sub)
    .setIssuedAt(now - 7200)
    .setExpirationTime(now - 3600)
    .sign(signer.privateKey);
}

/** Asserts that logout revoked the session behind the browser and cleared the cookie. */
async function expectSignedOut(res: Response, b: ReturnType<typeof browser>, userId: string, client: { id: string }) {
  const cleared = res.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session='));
  expect(cleared).toMatch(/^gatehouse_session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Lax/);
  const rows = await db().select().from(loginSessions).where(eq(loginSessions.userId, userId));
  expect(rows.every((r) => r.revokedAt !== null)).toBe(true);
  const silent = await b.get(await authorizePath(client.id, { prompt: 'none' }));
  expect(new URL(silent.headers.get('location') ?? '').searchParams.get('error')).toBe('login_required');
}

async function expectErrorPage(res: Response, text: string) {
  expect(res.status).toBe(400);
  expect(res.headers.get('location')).toBeNull();
  expect(await res.text()).toContain(text);
}

describe('GET /logout (Cognito)', () => {
  it('revokes the session and redirects to a registered logout_uri', async () => {
    const { b, client, user } = await signedIn();
    const res = await b.get(`/logout?client_id=${client.id}&logout_uri=${encodeURIComponent(BYE)}`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(BYE);
    await expectSignedOut(res, b, user.id, client);
  });

  it('refuses a missing or unknown client and an unregistered logout_uri with a page, keeping the session', async () => {
    const { b, client } = await signedIn();
    await expectErrorPage(await b.get(`/logout?logout_uri=${encodeURIComponent(BYE)}`), 'does not name an application');
    await expectErrorPage(await b.get(`/logout?client_id=nope&logout_uri=${encodeURIComponent(BYE)}`), 'application is not registered');
    await expectErrorPage(await b.get(`/logout?client_id=${client.id}&logout_uri=${encodeURIComponent(`${BYE}/x`)}`), 'not registered for the application');
    const silent = await b.get(await authorizePath(client.id, { prompt: 'none' }));
    expect(new URL(silent.headers.get('location') ?? '').searchParams.get('code')).toBeTruthy();
  });

  it('signs out and starts a new sign-in when given redirect_uri and response_type', async () => {
    const { b, client, user } = await signedIn();
    const query = `client_id=${client.id}&response_type=code&redirect_uri=${encodeURIComponent('https://app.example/callback')}`;
    const res = await b.get(`/logout?${query}`);
    expect(res.headers.get('location')).toBe(`/oauth2/authorize?${query}`);
    await expectSignedOut(res, b, user.id, client);
  });
});

describe('GET|POST /oauth2/logout (OIDC RP-Initiated Logout)', () => {
  it('accepts an expired id_token_hint of ours and redirects to the registered URI with state', async () => {
    const { b, client, user } = await signedIn();
    const hint = await idToken({ aud: client.id, sub: user.id });
    const res = await b.get(`/oauth2/logout?id_token_hint=${hint}&post_logout_redirect_uri=${encodeURIComponent(BYE)}&state=s1`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${BYE}?state=s1`);
    await expectSignedOut(res, b, user.id, client);
  });

  it('accepts client_id instead of a hint, and the POST form', async () => {
    const { b, client, user } = await signedIn();
    const res = await b.post('/oauth2/logout', { client_id: client.id, post_logout_redirect_uri: BYE });
    expect(res.headers.get('location')).toBe(BYE);
    await expectSignedOut(res, b, user.id, client);
  });

  it('shows a signed-out page without a post_logout_redirect_uri', async () => {
    const { b, client, user } = await signedIn();
    const res = await b.get('/oauth2/logout');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<h1>You have signed out</h1>');
    await expectSignedOut(res, b, user.id, client);
  });

  it('refuses hints that are not ours or not for the client, and unregistered or unattributed redirects', async () => {
    const { b, client, user } = await signedIn();
    const { privateKey } = await generateKeyPair('RS256');
    const ring = await keyRing(env.JWT_SIGNING_KEYS);
    const foreign = await idToken({ aud: client.id, sub: user.id }, { kid: ring.signer.kid, privateKey });
    const wrongIss = await idToken({ aud: client.id, sub: user.id, iss: 'https://other.example' });
    const otherAud = await idToken({ aud: 'another-client', sub: user.id });
    const to = `post_logout_redirect_uri=${encodeURIComponent(BYE)}`;
    await expectErrorPage(await b.get(`/oauth2/logout?id_token_hint=${foreign}&${to}`), 'id_token_hint was not issued here');
    await expectErrorPage(await b.get(`/oauth2/logout?id_token_hint=${wrongIss}&${to}`), 'id_token_hint was not issued here');
    await expectErrorPage(await b.get(`/oauth2/logout?id_token_hint=${otherAud}&client_id=${client.id}&${to}`), 'id_token_hint was not issued here');
    await expectErrorPage(await b.get(`/oauth2/logout?id_token_hint=garbage&${to}`), 'id_token_hint was not issued here');
    await expectErrorPage(await b.get(`/oauth2/logout?client_id=${client.id}&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`), 'not registered for the application');
    await expectErrorPage(await b.get(`/oauth2/logout?${to}`), 'does not name an application');
    await expectErrorPage(await b.get(`/oauth2/logout?client_id=nope`), 'application is not registered');
    const silent = await b.get(await authorizePath(client.id, { prompt: 'none' }));
    expect(new URL(silent.headers.get('location') ?? '').searchParams.get('code')).toBeTruthy();
  });
});

describe('GET /dev/mailbox', () => {
  it('lists mail newest first as JSON, filtered by recipient', async () => {
    const email = uniqueEmail('mailbox');
    const b = browser();
    await b.submit('/signup', '/signup', { email, password: 'harbor violet compass tide', confirm_password: 'harbor violet compass tide' });
    await b.submit('/forgot-password', '/forgot-password', { email });
    const res = await exports.default.fetch(`http://localhost/dev/mailbox?format=json&to=${encodeURIComponent(email.toUpperCase())}`);
    expect(res.status).toBe(200);
    const list = (await res.json()) as { to: string; subject: string; text: string; createdAt: string }[];
    expect(list.map((m) => m.subject)).toEqual(['Your password reset code', 'Your verification code']);
    expect(list[0]).toEqual({ to: email, subject: 'Your password reset code', text: expect.stringMatching(/Your password reset code is \d{6}\./), createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const html = await (await exports.default.fetch(`http://localhost/dev/mailbox?to=${encodeURIComponent(email)}`)).text();
    expect(html).toContain('<h1>Development mailbox</h1>');
    expect(html.indexOf('Your password reset code')).toBeLessThan(html.indexOf('Your verification code'));
  });

  it('is a 404 unless DEV_MODE is true', async () => {
    for (const path of ['/dev/mailbox', '/dev/mailbox?format=json']) {
      const res = await fetchWith({ DEV_MODE: 'false' }, `http://localhost${path}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
  });
});
