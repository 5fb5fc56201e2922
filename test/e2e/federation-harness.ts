/**
 * The federation e2e lab: real local OIDC upstreams (oauth2-mock-server on 127.0.0.1, free ports) and a Gatehouse of
 * its own started with IDENTITY_PROVIDERS pointing at them, plus a no-JavaScript browser (fetch and a cookie jar) that
 * follows the whole redirect chain app → Gatehouse → IdP → Gatehouse → app.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { Events, OAuth2Server } from 'oauth2-mock-server';
import { createMultiFernet } from '../../lib/fernet.ts';
import { openLocalD1 } from '../../scripts/lib/local-d1.ts';
import { freePort, startLocalServer, type LocalServer } from '../../scripts/lib/local-server.ts';
import { createUser } from '../../workers/auth/store/users.ts';
import { database } from '../../workers/db.ts';
import { ROOT, seedFixtures, type E2eFixtures } from './fixtures.ts';
import { cookieJar } from './util/browser-login.ts';

/** The person the mock IdP signs in next: the claims it puts in its ID tokens. */
export type UpstreamUser = { sub: string; email?: string; email_verified?: boolean; name?: string };

/** A running mock upstream IdP; `user` is who it signs in (it approves every request at once, no page). */
export type MockIdp = { server: OAuth2Server; issuer: string; user: UpstreamUser; stop: () => Promise<void> };

/** Starts oauth2-mock-server on 127.0.0.1 with an RS256 key; its ID tokens carry `idp.user`'s claims. */
export async function startMockIdp(): Promise<MockIdp> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  const port = await freePort();
  // The issuer as the Worker reaches it: 127.0.0.1, not the mock's default "localhost" (which may resolve to ::1).
  server.issuer.url = `http://127.0.0.1:${port}`;
  await server.start(port, '127.0.0.1');
  const idp: MockIdp = {
    server,
    issuer: `http://127.0.0.1:${port}`,
    user: { sub: 'nobody' },
    stop: async () => {
      if (server.listening) await server.stop();
    },
  };
  server.service.on(Events.BeforeTokenSigning, (token) => {
    // The mock signs the access and the ID token through this hook; only the ID token has no `scope`.
    if ('scope' in token.payload) return;
    const { sub, ...rest } = idp.user;
    Object.assign(token.payload, { sub }, rest);
  });
  return idp;
}

/** The local account that federation may link to (seeded before the server starts). */
export const LOCAL_USER = { email: 'federation-local@example.com', password: 'local account password 42' };

/** A Gatehouse with the given providers (the client secrets go through vars here; in production they are a secret). */
export async function startFederationServer(providers: unknown[], secrets: Record<string, string>): Promise<{ server: LocalServer; fx: E2eFixtures; localUserId: string }> {
  let fx: E2eFixtures | undefined;
  let localUserId = '';
  const server = await startLocalServer({
    root: ROOT,
    vars: {
      IDENTITY_PROVIDERS: JSON.stringify(providers),
      IDENTITY_PROVIDER_SECRETS: JSON.stringify(secrets),
      // Federated users have no stored claims: their provider group gives them a Hasura role.
      GROUP_ROLE_MAP: JSON.stringify({ 'local-1_gatehouse_mock': 'federated' }),
      HASURA_DEFAULT_ROLE: 'federated',
      LOGIN_MAX_FAILURES: '50',
    },
    prepare: async (ctx) => {
      fx = await seedFixtures(ctx);
      const local = await openLocalD1({ configPath: ctx.configPath, stateDir: ctx.stateDir });
      try {
        const user = await createUser(database(local.db), createMultiFernet(ctx.secrets.CLAIMS_FERNET_KEYS ?? ''), {
          ...LOCAL_USER,
          status: 'CONFIRMED',
          emailVerified: true,
          claims: { 'x-hasura-default-role': 'editor', 'x-hasura-allowed-roles': ['editor'] },
        });
        localUserId = user.id;
      } finally {
        await local.dispose();
      }
    },
  });
  return { server, fx: fx!, localUserId };
}

/** Where a browser-style run ended: at the app (`landed`), or on a page; and every URL it visited. */
export type FlowResult = { landed: URL | undefined; status: number; html: string; visited: URL[]; jar: ReturnType<typeof cookieJar> };

/**
 * Follows redirects from `start` like a browser without JavaScript, keeping Gatehouse's cookies, until the app's
 * redirect URI (not fetched: nothing listens there) or a page. `stopBefore` pauses before a URL, for tests that act
 * between two hops (e.g. stop the IdP); `resume` continues such a run.
 */
export async function runFlow(start: string | URL, opts: { gatehouse: string; appRedirect: string; jar?: ReturnType<typeof cookieJar>; stopBefore?: (u: URL) => boolean }): Promise<FlowResult & { paused?: URL }> {
  const jar = opts.jar ?? cookieJar();
  const origin = new URL(opts.gatehouse).origin;
  const visited: URL[] = [];
  let url = new URL(start);
  for (let hop = 0; hop < 12; hop++) {
    if (url.href.startsWith(opts.appRedirect)) return { landed: url, status: 302, html: '', visited, jar };
    if (opts.stopBefore?.(url)) return { landed: undefined, status: 0, html: '', visited, jar, paused: url };
    visited.push(url);
    const headers = new Headers();
    if (url.origin === origin && jar.cookies.size) headers.set('Cookie', jar.header());
    const res = await fetch(url, { headers, redirect: 'manual' });
    if (url.origin === origin) jar.store(res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url);
      continue;
    }
    return { landed: undefined, status: res.status, html: await res.text(), visited, jar };
  }
  throw new Error('too many redirects');
}

/** Redeems a code at Gatehouse's token endpoint for a public client and verifies the ID token against its JWKS. */
export async function redeem(baseUrl: string, client: { clientId: string; redirectUri: string }, code: string, verifier: string): Promise<JWTPayload> {
  const res = await fetch(`${baseUrl}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, client_id: client.clientId, code_verifier: verifier }),
  });
  const body = (await res.json()) as { id_token?: string; error?: string; error_description?: string };
  if (!res.ok || !body.id_token) throw new Error(`token endpoint answered ${res.status}: ${body.error ?? ''} ${body.error_description ?? ''}`);
  const { payload } = await jwtVerify(body.id_token, createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`)), { issuer: baseUrl, audience: client.clientId });
  return payload;
}

/** The text of a page's alert, without markup. */
export const alertText = (html: string): string =>
  (/role="alert">([\s\S]*?)<\/div>/.exec(html)?.[1] ?? '').replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/\s+/g, ' ').trim();
