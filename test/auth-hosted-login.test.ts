import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64Url, fromUtf8, utf8 } from '../lib/encoding.ts';
import { hashPassword } from '../lib/password.ts';
import { appClients, users } from '../schema/index.ts';
import { authorizePath, browser, db, hiddenFields, latestCode, PASSWORD, randomIp, seedClient, seedUser, uniqueEmail, userRow } from './auth-hosted-helpers.ts';

const MAX = Number(env.LOGIN_MAX_FAILURES);
const GENERIC = 'Incorrect username or password.';

/** Posts the sign-in form from a fresh page (its own CSRF token) and returns the response. */
async function attempt(email: string, password: string, ip = randomIp(), authorize?: string) {
  const b = browser({ ip });
  const start = authorize ? ((await b.get(authorize)).headers.get('location') ?? '/login') : '/login';
  return b.submit(start, '/login', { email, password });
}

async function expectGenericFailure(res: Response) {
  expect(res.status).toBe(400);
  expect(res.headers.getSetCookie().some((c) => c.startsWith('gatehouse_session='))).toBe(false);
  const html = await res.text();
  expect(html).toContain(`<div class="alert error" id="form-error" role="alert">${GENERIC}</div>`);
  expect(html).toMatch(/id="f-password"[^>]*aria-invalid="true" aria-describedby="form-error"/);
  return html;
}

describe('CSRF', () => {
  it('refuses a sign-in post without the token, with a wrong one, or without the cookie', async () => {
    const user = await seedUser();
    const b = browser();
    const page = await b.get('/login');
    const { csrf } = hiddenFields(await page.text());
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = page.headers.getSetCookie().find((c) => c.startsWith('gatehouse_csrf=')) ?? '';
    expect(cookie).toMatch(/; Path=\/; HttpOnly; SameSite=Lax$/);

    for (const fields of [{}, { csrf: 'x'.repeat(43) }] as Record<string, string>[]) {
      const res = await b.post('/login', { email: user.email, password: PASSWORD, ...fields });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('This form expired or was not sent from this site.');
    }
    const noCookie = browser();
    expect((await noCookie.post('/login', { email: user.email, password: PASSWORD, csrf: csrf ?? '' })).status).toBe(403);
    expect((await b.post('/login', { email: user.email, password: PASSWORD, csrf: csrf ?? '' })).status).toBe(200);
  });

  it('refuses a forged cookie that carries the same token unsigned', async () => {
    const b = browser();
    b.jar.set('gatehouse_csrf', 'forged');
    const res = await b.post('/signup', { csrf: 'forged', email: uniqueEmail(), password: PASSWORD, confirm_password: PASSWORD });
    expect(res.status).toBe(403);
  });
});

describe('failed sign-in', () => {
  it('answers unknown users, wrong passwords and disabled accounts with the same message', async () => {
    const user = await seedUser();
    const disabled = await seedUser({ email: uniqueEmail('disabled') });
    await db().update(users).set({ enabled: false }).where(eq(users.id, disabled.id));
    const pages = [
      await expectGenericFailure(await attempt(uniqueEmail('nobody'), PASSWORD)),
      await expectGenericFailure(await attempt(user.email, 'wrong password here')),
      await expectGenericFailure(await attempt(disabled.email, PASSWORD)),
    ];
    const strip = (html: string) => html.replace(/value="[^"]*"/g, '');
    expect(strip(pages[1] ?? '')).toBe(strip(pages[0] ?? ''));
    expect(strip(pages[2] ?? '')).toBe(strip(pages[0] ?? ''));
    expect((await userRow(user.id))?.failedLogins).toBe(1);
  });

  it('asks for missing fields without counting a failure', async () => {
    const user = await seedUser();
    const res = await attempt(user.email, '');
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<p class="field-error" id="f-password-error">Enter your password.</p>');
    expect((await userRow(user.id))?.failedLogins).toBe(0);
  });

  it('locks an account after LOGIN_MAX_FAILURES wrong passwords, even against the right one, then lets it in after the lock', async () => {
    const user = await seedUser();
    for (let i = 0; i < MAX; i++) await expectGenericFailure(await attempt(user.email, `wrong-${i}`));
    const locked = await userRow(user.id);
    expect(locked?.lockedUntil).toBeGreaterThan(Date.now() + (Number(env.LOGIN_LOCKOUT_SECONDS) - 5) * 1000);
    await expectGenericFailure(await attempt(user.email, PASSWORD));
    await db().update(users).set({ lockedUntil: Date.now() - 1 }).where(eq(users.id, user.id));
    const { client } = await seedClient();
    const ok = await attempt(user.email, PASSWORD, randomIp(), await authorizePath(client.id));
    expect(ok.status).toBe(302);
    expect(new URL(ok.headers.get('location') ?? '').searchParams.get('code')).toBeTruthy();
    expect(await userRow(user.id)).toMatchObject({ failedLogins: 0, lockedUntil: null });
  });

  it('locks an IP after LOGIN_MAX_FAILURES failures on any accounts, while other IPs still sign in', async () => {
    const user = await seedUser();
    const ip = randomIp();
    for (let i = 0; i < MAX; i++) await expectGenericFailure(await attempt(uniqueEmail('guess'), PASSWORD, ip));
    await expectGenericFailure(await attempt(user.email, PASSWORD, ip));
    expect((await userRow(user.id))?.failedLogins).toBe(0);
    const elsewhere = await attempt(user.email, PASSWORD, randomIp());
    expect(elsewhere.status).toBe(200);
    expect(await elsewhere.text()).toContain('You are signed in');
  });
});

describe('accounts that need something first', () => {
  it('stores a stronger hash after signing in with an old, weaker one', async () => {
    const user = await seedUser();
    const weak = await hashPassword(PASSWORD, { iterations: 1000 });
    await db().update(users).set({ passwordHash: weak }).where(eq(users.id, user.id));
    expect((await attempt(user.email, PASSWORD)).status).toBe(200);
    const hash = (await userRow(user.id))?.passwordHash ?? '';
    expect(hash).not.toBe(weak);
    expect(hash).toMatch(/^pbkdf2-sha256\$100000\$/);
  });

  it('sends a RESET_REQUIRED user to forgot-password with a notice, keeping the request', async () => {
    const { client } = await seedClient();
    const user = await seedUser({ status: 'RESET_REQUIRED' });
    const res = await attempt(user.email, PASSWORD, randomIp(), await authorizePath(client.id));
    expect(res.status).toBe(303);
    const location = res.headers.get('location') ?? '';
    expect(location).toMatch(/^\/forgot-password\?notice=reset_required&request=/);
    const page = await browser().get(location);
    expect(await page.text()).toContain('You need to set a new password before you can sign in.');
  });

  it('sends an imported RESET_REQUIRED user without a password to forgot-password too', async () => {
    const user = await seedUser({ status: 'RESET_REQUIRED', password: undefined });
    const res = await attempt(user.email, 'anything at all');
    expect(res.headers.get('location')).toBe('/forgot-password?notice=reset_required');
  });

  it('shows an UNCONFIRMED user with the right password the confirm page and mails a code', async () => {
    const user = await seedUser({ status: 'UNCONFIRMED', emailVerified: false });
    const res = await attempt(user.email, PASSWORD);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<h1>Confirm your email address</h1>');
    expect(await latestCode(user.email)).toMatch(/^\d{6}$/);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('gatehouse_session='))).toBe(false);
    await expectGenericFailure(await attempt(user.email, 'not the password'));
  });

  it('makes a FORCE_CHANGE_PASSWORD user choose a new password, then continues to the client', async () => {
    const { client } = await seedClient();
    const user = await seedUser({ status: 'FORCE_CHANGE_PASSWORD', password: 'temporary pass 123' });
    const b = browser();
    const start = await b.get(await authorizePath(client.id, { state: 'fcp' }));
    const challengePage = await b.submit(start.headers.get('location') ?? '', '/login', { email: user.email, password: 'temporary pass 123' });
    expect(challengePage.status).toBe(200);
    const html = await challengePage.text();
    expect(html).toContain('<h1>Choose a new password</h1>');
    const hidden = hiddenFields(html);
    expect(Object.keys(hidden).sort()).toEqual(['challenge', 'csrf', 'request', 'username']);

    const weak = await b.post('/new-password', { ...hidden, password: 'password1', confirm_password: 'password1' });
    expect(weak.status).toBe(400);
    expect(await weak.text()).toContain('This password is too common');

    const done = await b.post('/new-password', { ...hidden, password: 'a brand new passphrase', confirm_password: 'a brand new passphrase' });
    expect(done.status).toBe(302);
    expect(new URL(done.headers.get('location') ?? '').searchParams.get('state')).toBe('fcp');
    expect(await userRow(user.id)).toMatchObject({ status: 'CONFIRMED' });
    const replay = await b.post('/new-password', { ...hidden, password: 'another new passphrase', confirm_password: 'another new passphrase' });
    expect(replay.status).toBe(400);
  });
});

describe('the carried authorize request', () => {
  it('answers with an error redirect when the client stopped allowing the requested scopes meanwhile', async () => {
    const { client } = await seedClient();
    const user = await seedUser();
    const b = browser();
    const loginPath = (await b.get(await authorizePath(client.id))).headers.get('location') ?? '';
    const page = await b.get(loginPath);
    await db().update(appClients).set({ allowedScopes: ['openid'] }).where(eq(appClients.id, client.id));
    const res = await b.post('/login', { ...hiddenFields(await page.text()), email: user.email, password: PASSWORD });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('invalid_scope');
    expect(location.searchParams.get('state')).toBe('st-123');
  });

  it('refuses a tampered or foreign request blob with an error page, never a redirect', async () => {
    const { client } = await seedClient();
    const user = await seedUser();
    const b = browser();
    const location = (await b.get(await authorizePath(client.id))).headers.get('location') ?? '';
    const sealed = new URL(location, 'http://x').searchParams.get('request') ?? '';
    const [body = '', mac = ''] = sealed.split('.');
    const evil = fromUtf8(base64ToBytes(body)).replace('https://app.example/callback', 'https://evil.example/callback');
    const forged = `${bytesToBase64Url(utf8(evil))}.${mac}`;
    const page = await b.get('/login');
    const res = await b.post('/login', { ...hiddenFields(await page.text()), request: forged, email: user.email, password: PASSWORD });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('This sign-in request has expired or was changed.');
    expect((await b.get(`/login?request=${encodeURIComponent(forged)}`)).status).toBe(400);
  });
});
