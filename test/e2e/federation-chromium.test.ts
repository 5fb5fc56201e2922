import { createHash, randomBytes } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../scripts/lib/local-server.ts';
import type { E2eFixtures } from './fixtures.ts';
import { redeem, startFederationServer, startMockIdp, type MockIdp } from './federation-harness.ts';

/** Debian's Chromium; the test never downloads a browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let idp: MockIdp;
let server: LocalServer;
let fx: E2eFixtures;
let browser: Browser;

beforeAll(async () => {
  idp = await startMockIdp();
  ({ server, fx } = await startFederationServer([{ name: 'mock', issuer: idp.issuer, clientId: 'gatehouse-at-mock', displayName: 'Mock IdP' }], { mock: 'mock-secret' }));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await idp?.stop();
});

describe('"Sign in with …" on the hosted page in headless Chromium', () => {
  it('clicks the provider link, goes through the upstream and lands on the app with a code for the federated user', async () => {
    idp.user = { sub: `Chromium-${randomBytes(6).toString('hex')}`, email: `chromium-fed-${randomBytes(4).toString('hex')}@example.com`, email_verified: true, name: 'Chromium Person' };
    const state = randomBytes(12).toString('base64url');
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL('/oauth2/authorize', server.url);
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
    const upstream = page.waitForRequest((req) => req.url().startsWith(`${idp.issuer}/authorize`));

    await page.goto(authorize.href);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.getByRole('link', { name: 'Sign in with Mock IdP' }).click();

    expect(new URL((await upstream).url()).searchParams.get('client_id')).toBe('gatehouse-at-mock');
    const callback = new URL((await landed).url());
    expect(callback.searchParams.get('state')).toBe(state);
    await page.waitForURL((u) => u.href.startsWith(fx.publicClient.redirectUri));
    expect(await page.textContent('body')).toBe('client app');

    const claims = await redeem(server.url, fx.publicClient, callback.searchParams.get('code') ?? '', verifier);
    expect(claims['cognito:username']).toBe(`mock_${idp.user.sub}`.toLowerCase());
    expect(claims.identities).toMatchObject([{ userId: idp.user.sub, providerName: 'mock', providerType: 'OIDC' }]);

    // context.cookies(url) matches cookie paths: the binding cookie lives under /oauth2 only.
    const cookies = await context.cookies(`${server.url}/oauth2/idpresponse`);
    expect(cookies.find((c) => c.name === 'gatehouse_session')).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(cookies.find((c) => c.name === 'gatehouse_federation')).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/oauth2' });
    await context.close();
  });
});
