import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { randomToken, sha256Hex } from '../lib/encoding.ts';
import { FEDERATION_COOKIE } from '../workers/auth/federation/browser-binding.ts';
import { savePendingFederation, takePendingFederation, type PendingFederation } from '../workers/auth/federation/state-store.ts';
import { sealRequest, type AuthorizeRequest } from '../workers/auth/hosted/authorize-request.ts';
import { authorizePath, browser, db, hiddenFields, REDIRECT, seedClient } from './auth-hosted-helpers.ts';

/** Two providers whose issuers nothing answers at (port 9, discard): enough for everything short of a real upstream. */
const VARS = {
  IDENTITY_PROVIDERS: JSON.stringify([
    { name: 'corp', issuer: 'http://127.0.0.1:9/corp', clientId: 'gatehouse', displayName: 'Corp SSO' },
    { name: 'down', issuer: 'http://127.0.0.1:9/down', clientId: 'gatehouse', displayName: 'Down IdP', tokenEndpointAuthMethod: 'none' },
  ]),
  IDENTITY_PROVIDER_SECRETS: JSON.stringify({ corp: 'corp-secret' }),
} as Partial<Env>;

const fedBrowser = () => browser({ vars: VARS });
const location = (res: Response) => new URL(res.headers.get('location') ?? 'http://missing/');

/** Seeds a pending upstream sign-in as /oauth2/authorize would, bound to `b`'s cookie; returns its state. */
async function pendingFor(b: ReturnType<typeof fedBrowser>, opts: { origin?: PendingFederation['origin']; request?: AuthorizeRequest | null; now?: number; otherBrowser?: boolean } = {}) {
  const cookie = randomToken(32);
  if (!opts.otherBrowser) b.jar.set(FEDERATION_COOKIE, cookie);
  const state = randomToken(32);
  const sealed = opts.request === null ? null : await sealRequest(env.SESSION_COOKIE_KEY, opts.request ?? (await appRequest()));
  await savePendingFederation(db(), state, { provider: 'corp', browserHash: await sha256Hex(cookie), origin: opts.origin ?? 'authorize', request: sealed }, opts.now);
  return state;
}

async function appRequest(): Promise<AuthorizeRequest> {
  const { client } = await seedClient({ confidential: true });
  return { clientId: client.id, redirectUri: REDIRECT, scopes: ['openid', 'email'], state: 'app-state-1', nonce: 'app-nonce' };
}

const pageAlert = async (res: Response) => (/role="alert">([\s\S]*?)<\/div>/.exec(await res.text())?.[1] ?? '').replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").trim();

describe('GET /oauth2/authorize?identity_provider=', () => {
  it('still refuses a provider that is not configured, as an error redirect', async () => {
    const { client } = await seedClient();
    const res = await fedBrowser().get(await authorizePath(client.id, { identity_provider: 'nope' }));
    expect(res.status).toBe(302);
    const to = location(res);
    expect(to.origin + to.pathname).toBe(REDIRECT);
    expect(Object.fromEntries(to.searchParams)).toMatchObject({ error: 'invalid_request', error_description: 'Unknown identity provider.', state: 'st-123' });
  });

  it('checks the client and redirect URI before anything else (an error page, never a redirect)', async () => {
    const res = await fedBrowser().get(await authorizePath('no-such-client', { identity_provider: 'corp' }));
    expect(res.status).toBe(400);
    expect(await pageAlert(res)).toContain('the application is not registered here');
  });

  it('validates the rest of the request before going upstream', async () => {
    const { client } = await seedClient();
    const res = await fedBrowser().get(await authorizePath(client.id, { identity_provider: 'corp', scope: 'email' }));
    expect(Object.fromEntries(location(res).searchParams)).toMatchObject({ error: 'invalid_scope', state: 'st-123' });
  });

  it('answers temporarily_unavailable to the app when the IdP cannot be reached, and stores nothing', async () => {
    const { client } = await seedClient();
    const b = fedBrowser();
    const res = await b.get(await authorizePath(client.id, { identity_provider: 'down' }));
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const to = location(res);
    expect(to.origin + to.pathname).toBe(REDIRECT);
    expect(Object.fromEntries(to.searchParams)).toMatchObject({ error: 'temporarily_unavailable', error_description: 'Down IdP cannot be reached right now. Try again in a few minutes.', state: 'st-123' });
    expect(b.jar.has(FEDERATION_COOKIE)).toBe(false);
  });
});

describe('the hosted sign-in page', () => {
  it('offers a "Sign in with …" link per provider that keeps the sealed request', async () => {
    const { client } = await seedClient();
    const b = fedBrowser();
    const toLogin = await b.get(await authorizePath(client.id));
    const page = await b.get(toLogin.headers.get('location') ?? '');
    const html = await page.text();
    const { request } = hiddenFields(html);
    const links = [...html.matchAll(/<a href="([^"]*)">Sign in with ([^<]*)<\/a>/g)].map((m) => [m[1]?.replace(/&amp;/g, '&'), m[2]]);
    expect(links.map((l) => l[1])).toEqual(['Corp SSO', 'Down IdP']);
    const href = new URL(links[0]?.[0] ?? '', 'http://localhost');
    expect(href.pathname).toBe('/oauth2/federate');
    expect(href.searchParams.get('identity_provider')).toBe('corp');
    expect(href.searchParams.get('request')).toBe(request);
  });

  it('shows no links when no provider is configured', async () => {
    expect(await (await browser().get('/login')).text()).not.toContain('Sign in with');
  });

  it('comes back with the reason when the provider behind a link is down', async () => {
    const res = await fedBrowser().get('/oauth2/federate?identity_provider=down');
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('<div class="alert error" id="provider-error" role="alert">Down IdP cannot be reached right now. Try again in a few minutes.</div>');
    expect(html).toContain('action="/login"');
  });

  it('refuses an unknown provider with an error page', async () => {
    const res = await fedBrowser().get('/oauth2/federate?identity_provider=nope');
    expect(res.status).toBe(400);
    expect(await pageAlert(res)).toContain('names an identity provider that is not set up here');
    expect((await fedBrowser().get('/oauth2/federate')).status).toBe(400);
  });
});

describe('GET /oauth2/idpresponse', () => {
  it.each([
    ['no state', '?code=abc'],
    ['an unknown state', `?code=abc&state=${randomToken(32)}`],
  ])('shows an error page for %s', async (_name, query) => {
    const res = await fedBrowser().get(`/oauth2/idpresponse${query}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await pageAlert(res)).toContain('This sign-in attempt is not valid: it has expired, was already used, or did not start here.');
  });

  it('refuses repeated parameters', async () => {
    const res = await fedBrowser().get('/oauth2/idpresponse?state=a&state=b&code=c');
    expect(res.status).toBe(400);
    expect(await pageAlert(res)).toContain('sent an answer this service cannot read');
  });

  it('relays a denied consent to the app as access_denied with its state, then refuses the replayed state', async () => {
    const b = fedBrowser();
    const state = await pendingFor(b);
    const res = await b.get(`/oauth2/idpresponse?error=access_denied&error_description=${encodeURIComponent('<script>x</script>')}&state=${state}`);
    expect(res.status).toBe(302);
    const to = location(res);
    expect(to.origin + to.pathname).toBe(REDIRECT);
    expect(Object.fromEntries(to.searchParams)).toEqual({
      error: 'access_denied',
      error_description: 'Sign-in with Corp SSO was cancelled or refused.',
      state: 'app-state-1',
      iss: env.ISSUER,
    });
    const replay = await b.get(`/oauth2/idpresponse?error=access_denied&state=${state}`);
    expect(replay.status).toBe(400);
    expect(await pageAlert(replay)).toContain('was already used');
  });

  it('relays prompt=none answers as they are', async () => {
    const b = fedBrowser();
    const state = await pendingFor(b);
    expect(location(await b.get(`/oauth2/idpresponse?error=login_required&state=${state}`)).searchParams.get('error')).toBe('login_required');
    const other = await pendingFor(b);
    expect(location(await b.get(`/oauth2/idpresponse?error=weird_error&state=${other}`)).searchParams.get('error')).toBe('server_error');
  });

  it('refuses a state that comes back to another browser, and burns it', async () => {
    const b = fedBrowser();
    const state = await pendingFor(b, { otherBrowser: true });
    const res = await b.get(`/oauth2/idpresponse?code=abc&state=${state}`);
    expect(res.status).toBe(400);
    expect(await pageAlert(res)).toContain('started in another browser');
    expect(await takePendingFederation(db(), state)).toBeUndefined();
  });

  it('refuses an expired state', async () => {
    const b = fedBrowser();
    const state = await pendingFor(b, { now: Date.now() - 11 * 60 * 1000 });
    const res = await b.get(`/oauth2/idpresponse?code=abc&state=${state}`);
    expect(res.status).toBe(400);
    expect(await pageAlert(res)).toContain('has expired');
  });

  it('refuses an answer from another issuer (RFC 9207 mix-up) before redeeming the code', async () => {
    const b = fedBrowser();
    const state = await pendingFor(b);
    const res = await b.get(`/oauth2/idpresponse?code=abc&iss=${encodeURIComponent('https://evil.example')}&state=${state}`);
    expect(Object.fromEntries(location(res).searchParams)).toMatchObject({ error: 'server_error', error_description: 'Corp SSO could not sign you in.', state: 'app-state-1' });
  });

  it('sends a sign-in started from the sign-in page back there with the reason', async () => {
    const b = fedBrowser();
    const state = await pendingFor(b, { origin: 'login' });
    const res = await b.get(`/oauth2/idpresponse?error=access_denied&state=${state}`);
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('id="provider-error" role="alert">Sign-in with Corp SSO was cancelled or refused.</div>');
    expect(hiddenFields(html).request).toBeTruthy();
  });

  it('answers a sign-in from the bare sign-in page (no app) on that page too', async () => {
    const b = fedBrowser();
    const state = await pendingFor(b, { origin: 'login', request: null });
    const res = await b.get(`/oauth2/idpresponse?error=access_denied&state=${state}`);
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('Sign-in with Corp SSO was cancelled or refused.');
    expect(hiddenFields(html).request).toBeUndefined();
  });

  it('answers an upstream that cannot be reached for the code exchange with temporarily_unavailable', async () => {
    const b = fedBrowser();
    const state = await pendingFor(b);
    const res = await b.get(`/oauth2/idpresponse?code=abc&state=${state}`);
    expect(Object.fromEntries(location(res).searchParams)).toMatchObject({ error: 'temporarily_unavailable', state: 'app-state-1' });
  });
});
