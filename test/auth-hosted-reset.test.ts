import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { loginSessions, refreshTokens, revokedFamilies, users } from '../schema/index.ts';
import { issueRefreshToken } from '../workers/auth/store/refresh-tokens.ts';
import { authorizePath, browser, db, hiddenFields, latestCode, latestMail, PASSWORD, seedClient, seedUser, uniqueEmail, userRow } from './auth-hosted-helpers.ts';

const NEW_PASSWORD = 'quartz meadow lantern river';

describe('forgot password', () => {
  it('mails a code, sets the new password, unlocks, and signs the user out everywhere', async () => {
    const { client } = await seedClient();
    const user = await seedUser();
    const familyId = crypto.randomUUID();
    await issueRefreshToken(db(), { familyId, clientId: client.id, userId: user.id, scopes: ['openid'], authTime: Date.now(), originJti: familyId, ttlSeconds: 3600 });
    // Signed in on another device, then locked out by someone guessing.
    const other = browser();
    const otherStart = await other.get(await authorizePath(client.id));
    await other.submit(otherStart.headers.get('location') ?? '', '/login', { email: user.email, password: PASSWORD });
    await db().update(users).set({ failedLogins: 3, lockedUntil: Date.now() + 600_000 }).where(eq(users.id, user.id));
    expect(other.jar.has('gatehouse_session')).toBe(true);

    const b = browser();
    const loginPath = (await b.get(await authorizePath(client.id, { state: 'fp' }))).headers.get('location') ?? '';
    const forgotHref = (/href="(\/forgot-password\?request=[^"]+)"/.exec(await (await b.get(loginPath)).text())?.[1] ?? '').replace(/&amp;/g, '&');
    const resetPage = await b.submit(forgotHref, '/forgot-password', { email: user.email });
    expect(resetPage.status).toBe(200);
    const resetHtml = await resetPage.text();
    expect(resetHtml).toContain(`If an account exists for ${user.email}, we have sent a 6-digit code to it.`);
    expect((await latestMail(user.email))?.subject).toBe('Your password reset code');
    const code = await latestCode(user.email);
    const hidden = hiddenFields(resetHtml);

    const weak = await b.post('/forgot-password/confirm', { ...hidden, email: user.email, code, password: 'qwerty123', confirm_password: 'qwerty123' });
    expect(weak.status).toBe(400);
    expect(await weak.text()).toContain('This password is too common');

    const done = await b.post('/forgot-password/confirm', { ...hidden, email: user.email, code, password: NEW_PASSWORD, confirm_password: NEW_PASSWORD, action: 'reset' });
    expect(done.status).toBe(303);
    const next = done.headers.get('location') ?? '';
    expect(next).toMatch(/^\/login\?notice=password_reset&request=/);
    expect(await userRow(user.id)).toMatchObject({ status: 'CONFIRMED', failedLogins: 0, lockedUntil: null, emailVerified: true });
    expect((await db().select().from(refreshTokens).where(eq(refreshTokens.familyId, familyId)))[0]?.revokedAt).toBeGreaterThan(0);
    expect((await db().select().from(revokedFamilies).where(eq(revokedFamilies.familyId, familyId)))[0]?.reason).toBe('signed_out');
    const sessions = await db().select().from(loginSessions).where(eq(loginSessions.userId, user.id));
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions.every((s) => s.revokedAt !== null)).toBe(true);
    const silent = await other.get(await authorizePath(client.id, { prompt: 'none' }));
    expect(new URL(silent.headers.get('location') ?? '').searchParams.get('error')).toBe('login_required');

    expect(await (await b.get(next)).text()).toContain('Your password has been changed.');
    const old = await b.submit(next, '/login', { email: user.email, password: PASSWORD });
    expect(old.status).toBe(400);
    const login = await b.submit(next, '/login', { email: user.email, password: NEW_PASSWORD });
    expect(new URL(login.headers.get('location') ?? '').searchParams.get('state')).toBe('fp');

    const reuse = await b.post('/forgot-password/confirm', { ...hidden, email: user.email, code, password: 'yet another passphrase', confirm_password: 'yet another passphrase' });
    expect(reuse.status).toBe(400);
    expect(await reuse.text()).toContain('Invalid verification code provided, please try again.');
  });

  it('answers an unknown address exactly like a known one and mails nothing', async () => {
    const user = await seedUser();
    const ghost = uniqueEmail('ghost');
    const b = browser();
    const known = await (await b.submit('/forgot-password', '/forgot-password', { email: user.email })).text();
    const unknown = await (await b.submit('/forgot-password', '/forgot-password', { email: ghost })).text();
    const normalise = (html: string, email: string) => html.replaceAll(email, 'EMAIL').replace(/value="[^"]*"/g, '');
    expect(normalise(unknown, ghost)).toBe(normalise(known, user.email));
    expect(await latestMail(ghost)).toBeUndefined();
    const attempt = await b.post('/forgot-password/confirm', { ...hiddenFields(unknown), email: ghost, code: '123456', password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
    expect(await attempt.text()).toContain('Invalid verification code provided, please try again.');
  });

  it('mails no reset code to a disabled account', async () => {
    const user = await seedUser({ email: uniqueEmail('off') });
    await db().update(users).set({ enabled: false }).where(eq(users.id, user.id));
    await browser().submit('/forgot-password', '/forgot-password', { email: user.email });
    expect(await latestMail(user.email)).toBeUndefined();
  });

  it('completes a RESET_REQUIRED account with the reset flow, confirming it', async () => {
    const user = await seedUser({ status: 'RESET_REQUIRED', password: undefined });
    const b = browser();
    const page = await b.submit('/forgot-password?notice=reset_required', '/forgot-password', { email: user.email });
    const done = await b.post('/forgot-password/confirm', { ...hiddenFields(await page.text()), email: user.email, code: await latestCode(user.email), password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
    expect(done.status).toBe(303);
    expect((await userRow(user.id))?.status).toBe('CONFIRMED');
    expect((await b.submit('/login', '/login', { email: user.email, password: NEW_PASSWORD })).status).toBe(200);
  });

  it('offers the code form directly, and a resend from it', async () => {
    const user = await seedUser();
    const b = browser();
    const res = await b.submit('/forgot-password/confirm', '/forgot-password/confirm', { email: user.email, action: 'resend' });
    expect(res.status).toBe(200);
    expect(await latestCode(user.email)).toMatch(/^\d{6}$/);
  });
});
