import { createHash, randomBytes } from 'node:crypto';
import { Events } from 'oauth2-mock-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../scripts/lib/local-server.ts';
import type { E2eFixtures } from './fixtures.ts';
import { alertText, LOCAL_USER, redeem, runFlow, startFederationServer, startMockIdp, type MockIdp } from './federation-harness.ts';

/**
 * Federation end to end: a real Gatehouse (wrangler dev) signs people in through real local OIDC upstreams
 * (oauth2-mock-server), and the app redeems the resulting code at the real token endpoint.
 */
let idp: MockIdp;
let flaky: MockIdp;
let goneIssuer: string;
let server: LocalServer;
let fx: E2eFixtures;
let localUserId: string;

beforeAll(async () => {
  idp = await startMockIdp();
  flaky = await startMockIdp();
  // An upstream that is down: started for a free port, then stopped before anything asks it.
  const gone = await startMockIdp();
  goneIssuer = gone.issuer;
  await gone.stop();
  const common = { clientId: 'gatehouse-at-mock', scopes: ['openid', 'email', 'profile'] };
  const started = await startFederationServer(
    [
      { name: 'mock', issuer: idp.issuer, displayName: 'Mock IdP', ...common },
      { name: 'corp', issuer: idp.issuer, displayName: 'Corp', linking: 'verified_email', tokenEndpointAuthMethod: 'client_secret_post', ...common },
      { name: 'strict', issuer: idp.issuer, displayName: 'Strict IdP', linking: 'verified_email_required', ...common },
      { name: 'partner', issuer: idp.issuer, displayName: 'Partner', allowedEmailDomains: ['partner.example'], ...common },
      { name: 'flaky', issuer: flaky.issuer, displayName: 'Flaky IdP', ...common },
      { name: 'gone', issuer: goneIssuer, displayName: 'Gone IdP', ...common },
    ],
    { mock: 'mock-secret', corp: 'corp-secret', strict: 'strict-secret', partner: 'partner-secret', flaky: 'flaky-secret', gone: 'gone-secret' },
  );
  ({ server, fx, localUserId } = started);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await idp?.stop();
  await flaky?.stop();
});

/** An authorize URL of the e2e public client that jumps to `provider`, with a fresh PKCE pair and state. */
function authorizeUrl(provider: string) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const url = new URL('/oauth2/authorize', server.url);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: fx.publicClient.clientId,
    redirect_uri: fx.publicClient.redirectUri,
    scope: 'openid email profile',
    state,
    nonce: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    identity_provider: provider,
  }).toString();
  return { url, verifier, state };
}

const flow = (start: URL | string, extra: Partial<Parameters<typeof runFlow>[1]> = {}) =>
  runFlow(start, { gatehouse: server.url, appRedirect: fx.publicClient.redirectUri, ...extra });
const upstreamUser = (extra: Partial<MockIdp['user']> = {}) => ({ sub: `Upstream-${randomBytes(6).toString('hex')}`, email: `fed-${randomBytes(4).toString('hex')}@example.com`, email_verified: true, name: 'Fed Person', ...extra });
const hasura = (claims: Record<string, unknown>) => JSON.parse(String(claims['https://hasura.io/jwt/claims'])) as Record<string, unknown>;

describe('federated sign-in through a real OIDC upstream', () => {
  it('creates <provider>_<sub>, puts identities in the ID token, and gives the provider group its Hasura role', async () => {
    idp.user = upstreamUser();
    const start = authorizeUrl('mock');
    const run = await flow(start.url);
    expect(run.landed, alertText(run.html)).toBeDefined();
    expect(run.visited.map((u) => u.origin === idp.issuer ? 'idp' : u.pathname)).toEqual(['/oauth2/authorize', 'idp', '/oauth2/idpresponse']);
    const upstreamAuthorize = run.visited[1]!.searchParams;
    expect(upstreamAuthorize.get('code_challenge_method')).toBe('S256');
    expect(upstreamAuthorize.get('redirect_uri')).toBe(`${server.url}/oauth2/idpresponse`);
    expect(upstreamAuthorize.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(run.landed!.searchParams.get('state')).toBe(start.state);

    const claims = await redeem(server.url, fx.publicClient, run.landed!.searchParams.get('code') ?? '', start.verifier);
    expect(claims['cognito:username']).toBe(`mock_${idp.user.sub}`.toLowerCase());
    expect(claims.email).toBe(idp.user.email);
    expect(claims['cognito:groups']).toEqual(['local-1_gatehouse_mock']);
    expect(claims.identities).toEqual([
      { userId: idp.user.sub, providerName: 'mock', providerType: 'OIDC', issuer: null, primary: 'true', dateCreated: expect.stringMatching(/^\d{13}$/) },
    ]);
    expect(hasura(claims)).toEqual({ 'x-hasura-user-id': claims.sub, 'x-hasura-default-role': 'federated', 'x-hasura-allowed-roles': ['federated'] });

    // The same upstream account signs in as the same user.
    const again = authorizeUrl('mock');
    const second = await flow(again.url);
    const claims2 = await redeem(server.url, fx.publicClient, second.landed?.searchParams.get('code') ?? '', again.verifier);
    expect(claims2.sub).toBe(claims.sub);

    // The callback URL cannot be used twice: its state is gone.
    const replay = await fetch(run.visited[2]!, { headers: { Cookie: run.jar.header() }, redirect: 'manual' });
    expect(replay.status).toBe(400);
    expect(alertText(await replay.text())).toContain('was already used');
  });

  it('links to the local account with the same email under verified_email (client_secret_post)', async () => {
    idp.user = upstreamUser({ email: LOCAL_USER.email.toUpperCase() });
    const start = authorizeUrl('corp');
    const run = await flow(start.url);
    const claims = await redeem(server.url, fx.publicClient, run.landed?.searchParams.get('code') ?? '', start.verifier);
    expect(claims.sub).toBe(localUserId);
    expect(claims['cognito:username']).toBe(LOCAL_USER.email);
    expect(claims.identities).toMatchObject([{ userId: idp.user.sub, providerName: 'corp', primary: 'true' }]);
    expect(hasura(claims)['x-hasura-default-role']).toBe('editor');
  });

  it('refuses an unverified email under the strict policy with an OAuth error redirect', async () => {
    idp.user = upstreamUser({ email: LOCAL_USER.email, email_verified: false });
    const start = authorizeUrl('strict');
    const run = await flow(start.url);
    expect(Object.fromEntries(run.landed?.searchParams ?? [])).toEqual({
      error: 'access_denied',
      error_description: 'Strict IdP has not verified your email address, so you cannot sign in with it here.',
      state: start.state,
      iss: server.url,
    });
  });

  it('refuses an email outside allowedEmailDomains', async () => {
    idp.user = upstreamUser({ email: 'someone@elsewhere.example' });
    const run = await flow(authorizeUrl('partner').url);
    expect(run.landed?.searchParams.get('error')).toBe('access_denied');
    expect(run.landed?.searchParams.get('error_description')).toBe('Accounts from your email domain may not sign in here.');
  });

  it('relays a denied consent as access_denied', async () => {
    idp.server.service.once(Events.BeforeAuthorizeRedirect, ({ url }) => {
      url.searchParams.delete('code');
      url.searchParams.set('error', 'access_denied');
    });
    const start = authorizeUrl('mock');
    const run = await flow(start.url);
    expect(Object.fromEntries(run.landed?.searchParams ?? [])).toMatchObject({ error: 'access_denied', error_description: 'Sign-in with Mock IdP was cancelled or refused.', state: start.state });
  });

  it('shows an error page for a bad state, and for a good state in another browser', async () => {
    idp.user = upstreamUser();
    const paused = await flow(authorizeUrl('mock').url, { stopBefore: (u) => u.pathname === '/oauth2/idpresponse' });
    const callback = paused.paused!;
    const forged = new URL(callback);
    forged.searchParams.set('state', randomBytes(32).toString('base64url'));
    const bad = await flow(forged, { jar: paused.jar });
    expect(bad.status).toBe(400);
    expect(alertText(bad.html)).toContain('This sign-in attempt is not valid');
    const elsewhere = await flow(callback);
    expect(elsewhere.status).toBe(400);
    expect(alertText(elsewhere.html)).toContain('started in another browser');
  });

  it('answers temporarily_unavailable when the upstream is down before the sign-in starts', async () => {
    const start = authorizeUrl('gone');
    const run = await flow(start.url);
    expect(Object.fromEntries(run.landed?.searchParams ?? [])).toMatchObject({ error: 'temporarily_unavailable', error_description: 'Gone IdP cannot be reached right now. Try again in a few minutes.', state: start.state });
  });

  it('answers temporarily_unavailable when the upstream goes down before the code exchange', async () => {
    flaky.user = upstreamUser();
    const start = authorizeUrl('flaky');
    const paused = await flow(start.url, { stopBefore: (u) => u.pathname === '/oauth2/idpresponse' });
    expect(paused.paused?.searchParams.get('code')).toBeTruthy();
    await flaky.stop();
    const run = await flow(paused.paused!, { jar: paused.jar });
    expect(Object.fromEntries(run.landed?.searchParams ?? [])).toMatchObject({ error: 'temporarily_unavailable', state: start.state });
  });
});
