import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { userClaims, userGroups, users, verificationCodes } from '../schema/index.ts';
import { authorizePath, browser, codeRow, db, hiddenFields, latestCode, latestMail, seedClient, seedUser, uniqueEmail } from './auth-hosted-helpers.ts';

const NEW_PASSWORD = 'lantern orbit velvet canyon';

const userByEmail = async (email: string) => (await db().select().from(users).where(eq(users.username, email)))[0];

describe('sign-up, confirm, sign-in', () => {
  it('creates an UNCONFIRMED user without claims, mails a code, confirms it, and signs in through to the client', async () => {
    const { client } = await seedClient();
    const email = uniqueEmail('signup');
    const b = browser();
    const loginPath = (await b.get(await authorizePath(client.id, { state: 'su' }))).headers.get('location') ?? '';
    const loginPage = await (await b.get(loginPath)).text();
    const signupHref = /href="(\/signup\?request=[^"]+)"/.exec(loginPage)?.[1] ?? '';
    expect(signupHref).not.toBe('');

    const confirmPage = await b.submit(signupHref.replace(/&amp;/g, '&'), '/signup', { email: email.toUpperCase(), password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
    expect(confirmPage.status).toBe(200);
    const confirmHtml = await confirmPage.text();
    expect(confirmHtml).toContain('<h1>Confirm your email address</h1>');
    expect(confirmHtml).toContain(`We sent a message to ${email}.`);
    const user = await userByEmail(email);
    expect(user).toMatchObject({ status: 'UNCONFIRMED', emailVerified: false, enabled: true });
    expect(await db().select().from(userClaims).where(eq(userClaims.userId, user?.id ?? ''))).toEqual([]);
    expect(await db().select().from(userGroups).where(eq(userGroups.userId, user?.id ?? ''))).toEqual([]);

    const mail = await latestMail(email);
    expect(mail).toMatchObject({ to: email, subject: 'Your verification code' });
    const code = await latestCode(email);
    const stored = await db().select().from(verificationCodes).where(eq(verificationCodes.userId, user?.id ?? ''));
    expect(stored[0]?.codeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[0]?.codeHash).not.toContain(code);
    expect(stored[0]?.expiresAt).toBeGreaterThan(Date.now() + 23 * 3600 * 1000);

    // Signing in before confirming does not work.
    const early = await b.submit(loginPath, '/login', { email, password: NEW_PASSWORD });
    expect(await early.text()).toContain('<h1>Confirm your email address</h1>');

    const hidden = hiddenFields(confirmHtml);
    const confirmed = await b.post('/confirm', { ...hidden, email, code, action: 'confirm' });
    expect(confirmed.status).toBe(303);
    const next = confirmed.headers.get('location') ?? '';
    expect(next).toMatch(/^\/login\?notice=confirmed&request=/);
    expect(await userByEmail(email)).toMatchObject({ status: 'CONFIRMED', emailVerified: true });
    expect(await db().select().from(verificationCodes).where(eq(verificationCodes.userId, user?.id ?? ''))).toEqual([]);

    const login = await b.submit(next, '/login', { email, password: NEW_PASSWORD });
    expect(login.status).toBe(302);
    const location = new URL(login.headers.get('location') ?? '');
    expect(location.searchParams.get('state')).toBe('su');
    expect((await codeRow(location.searchParams.get('code') ?? ''))?.userId).toBe(user?.id);
  });

  it('explains password policy and mismatch problems next to the fields', async () => {
    const b = browser();
    const res = await b.submit('/signup', '/signup', { email: 'not-an-email', password: 'password123', confirm_password: 'different' });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('<p class="field-error" id="f-email-error">Enter an email address like name@example.com.</p>');
    expect(html).toMatch(/id="f-password-error">This password is too common and easy to guess/);
    expect(html).toContain('<p class="field-error" id="f-confirm_password-error">The passwords do not match.</p>');
    expect(html).toMatch(/id="f-password"[^>]*aria-invalid="true" aria-describedby="f-password-hint f-password-error"/);
    const short = await b.submit('/signup', '/signup', { email: uniqueEmail(), password: 'abc', confirm_password: 'abc' });
    expect(await short.text()).toContain('Use at least 8 characters.');
  });

  it('does not reveal an existing account: same page, and the owner gets a notice instead of a code', async () => {
    const existing = await seedUser();
    const fresh = uniqueEmail('fresh');
    const b = browser();
    const a = await (await b.submit('/signup', '/signup', { email: existing.email, password: NEW_PASSWORD, confirm_password: NEW_PASSWORD })).text();
    const c = await (await b.submit('/signup', '/signup', { email: fresh, password: NEW_PASSWORD, confirm_password: NEW_PASSWORD })).text();
    const normalise = (html: string, email: string) => html.replaceAll(email, 'EMAIL').replace(/value="[^"]*"/g, '');
    expect(normalise(a, existing.email)).toBe(normalise(c, fresh));
    expect((await latestMail(existing.email))?.subject).toBe('Someone tried to sign up with your email address');
    expect((await userByEmail(existing.email))?.passwordHash).toBe(existing.passwordHash);
  });

  it('lets a repeated sign-up of an unconfirmed address replace its password (the latest wins)', async () => {
    const email = uniqueEmail('again');
    const b = browser();
    await b.submit('/signup', '/signup', { email, password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
    const before = (await userByEmail(email))?.passwordHash;
    await b.submit('/signup', '/signup', { email, password: 'second choice passphrase', confirm_password: 'second choice passphrase' });
    expect((await userByEmail(email))?.passwordHash).not.toBe(before);
  });

  it('is a 404 page when SIGNUP_ENABLED is false, and the sign-in page does not link to it', async () => {
    const b = browser({ vars: { SIGNUP_ENABLED: 'false' } });
    const res = await b.get('/signup');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('Self-service sign-up is not available.');
    expect(await (await b.get('/login')).text()).not.toContain('/signup');
    expect((await b.post('/signup', { email: uniqueEmail(), password: NEW_PASSWORD, confirm_password: NEW_PASSWORD })).status).toBe(404);
  });
});

describe('confirm codes', () => {
  async function signedUp() {
    const email = uniqueEmail('codes');
    const b = browser();
    const page = await b.submit('/signup', '/signup', { email, password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
    return { email, b, hidden: hiddenFields(await page.text()), code: await latestCode(email) };
  }

  it('rejects a wrong code with the generic message and stops after five attempts, even for the right code', async () => {
    const { email, b, hidden, code } = await signedUp();
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      const res = await b.post('/confirm', { ...hidden, email, code: wrong });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('Invalid verification code provided, please try again.');
    }
    expect((await b.post('/confirm', { ...hidden, email, code })).status).toBe(400);
    expect((await userByEmail(email))?.status).toBe('UNCONFIRMED');
  });

  it('answers an unknown address like a wrong code, and a malformed code with a field error', async () => {
    const { b, hidden } = await signedUp();
    const unknown = await b.post('/confirm', { ...hidden, email: uniqueEmail('ghost'), code: '123456' });
    expect(await unknown.text()).toContain('Invalid verification code provided, please try again.');
    const malformed = await b.post('/confirm', { ...hidden, email: uniqueEmail('ghost'), code: '12ab' });
    expect(await malformed.text()).toContain('Enter the 6-digit code from the email.');
  });

  it('resends a new code (not within 30 s of the last), with the same answer for unknown addresses', async () => {
    const { email, b, hidden, code } = await signedUp();
    const soon = await b.post('/confirm', { ...hidden, email, action: 'resend' });
    expect(await soon.text()).toContain('If an account with that email address is waiting for confirmation');
    expect(await latestCode(email)).toBe(code);
    const user = await userByEmail(email);
    await db().update(verificationCodes).set({ createdAt: Date.now() - 60_000 }).where(eq(verificationCodes.userId, user?.id ?? ''));
    await b.post('/confirm', { ...hidden, email, action: 'resend' });
    const mails = (await (await b.get(`/dev/mailbox?format=json&to=${encodeURIComponent(email)}`)).json()) as { text: string }[];
    expect(mails).toHaveLength(2);
    const fresh = await latestCode(email);
    if (fresh !== code) expect((await b.post('/confirm', { ...hidden, email, code })).status).toBe(400);
    expect((await b.post('/confirm', { ...hidden, email, code: fresh })).status).toBe(303);
    const ghost = await b.post('/confirm', { ...hidden, email: uniqueEmail('ghost'), action: 'resend' });
    expect(ghost.status).toBe(200);
  });
});
