import { createHash, randomBytes } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signUpUser } from './util/browser-login.ts';

const baseUrl = inject('baseUrl');
const fx = inject('fixtures');

/** Debian's Chromium; the test never downloads a browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Where the sign-in page screenshot goes, for a person to look at. */
export const SCREENSHOT = '/tmp/gatehouse-login.png';

describe('the hosted sign-in page in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('fills the form by its labels, submits, and lands on the client redirect_uri with a code and the state', async () => {
    const creds = { email: `chromium-${randomBytes(4).toString('hex')}@example.com`, password: 'amber kettle mountain 7' };
    await signUpUser(baseUrl, creds);
    const state = randomBytes(12).toString('base64url');
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL('/oauth2/authorize', baseUrl);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: fx.publicClient.clientId,
      redirect_uri: fx.publicClient.redirectUri,
      scope: 'openid email',
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();

    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    // Nothing listens at the client's redirect_uri: answer it here, as the client app would.
    await context.route(`${fx.publicClient.redirectUri}**`, (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'client app' }));
    const landed = page.waitForRequest((req) => req.url().startsWith(fx.publicClient.redirectUri));

    const res = await page.goto(authorize.href);
    expect(res?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/login');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Sign in');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    await page.getByLabel('Email address').fill(creds.email);
    await page.getByLabel('Password', { exact: true }).fill(creds.password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    const callback = new URL((await landed).url());
    expect(`${callback.origin}${callback.pathname}`).toBe(fx.publicClient.redirectUri);
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.waitForURL((u) => u.href.startsWith(fx.publicClient.redirectUri));
    expect(await page.textContent('body')).toBe('client app');

    const cookies = await context.cookies(baseUrl);
    expect(cookies.find((c) => c.name === 'gatehouse_session')).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false, path: '/' });
    await context.close();
  });

  it('shows the generic error in an alert tied to the fields', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel('Email address').fill(`nobody-${randomBytes(4).toString('hex')}@example.com`);
    await page.getByLabel('Password', { exact: true }).fill('wrong password entirely');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toBe('Incorrect username or password.');
    await expect(page.getByLabel('Password', { exact: true }).getAttribute('aria-describedby')).resolves.toBe('form-error');
    await context.close();
  });
});
