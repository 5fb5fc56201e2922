import { Hono, type Context } from 'hono';
import { compactVerify, createLocalJWKSet } from 'jose';
import { z } from 'zod';
import { fromUtf8 } from '../../../lib/encoding.ts';
import type { AppEnv } from '../../app-env.ts';
import { database, type Database } from '../../db.ts';
import { authConfig } from '../config.ts';
import { keyRing } from '../keys.ts';
import { endSession } from '../session.ts';
import { findAppClient, type AppClient } from '../store/clients.ts';
import { withParams } from './authorize-request.ts';
import { errorPage, type ErrorCause } from './error-page.tsx';
import { Layout, render } from './page.tsx';

/** A logout URI is accepted only by exact match against the client's registered list (as redirect URIs are). */
const isRegisteredLogout = (client: AppClient, uri: string) => client.logoutUris.includes(uri);

async function signedOut(c: Context<AppEnv>, db: Database): Promise<Response> {
  await endSession(c, db);
  return render(
    c,
    <Layout title="You have signed out">
      <p>You have signed out. You can close this page.</p>
      <nav><p><a href="/login">Sign in again</a></p></nav>
    </Layout>,
  );
}

async function redirectAfterLogout(c: Context<AppEnv>, db: Database, location: string): Promise<Response> {
  await endSession(c, db);
  c.header('Cache-Control', 'no-store');
  return c.redirect(location, 302);
}

const hintPayload = z.looseObject({ iss: z.string(), aud: z.union([z.string(), z.array(z.string())]) });

/**
 * Checks an `id_token_hint` (RP-Initiated Logout 1.0 §2): our signature and issuer. Expiry is not checked: the
 * spec lets an RP send an expired ID token here. Returns its audiences, or undefined when it is not ours.
 */
async function hintAudiences(env: Env, hint: string): Promise<string[] | undefined> {
  try {
    const jwks = createLocalJWKSet((await keyRing(env.JWT_SIGNING_KEYS)).jwks);
    const { payload } = await compactVerify(hint, jwks, { algorithms: ['RS256'] });
    const claims = hintPayload.safeParse(JSON.parse(fromUtf8(payload)));
    if (!claims.success || claims.data.iss !== authConfig(env).issuer) return undefined;
    return typeof claims.data.aud === 'string' ? [claims.data.aud] : claims.data.aud;
  } catch {
    return undefined;
  }
}

/** OIDC RP-Initiated Logout: validates, then ends the session and redirects (or shows the signed-out page). */
async function endSessionEndpoint(c: Context<AppEnv>, params: URLSearchParams): Promise<Response> {
  const db = database(c.env.DB);
  const fail = (cause: ErrorCause) => errorPage(c, 400, cause);
  let clientId = params.get('client_id') || undefined;
  const hint = params.get('id_token_hint') || undefined;
  if (hint) {
    const audiences = await hintAudiences(c.env, hint);
    if (!audiences || (clientId && !audiences.includes(clientId))) return fail('bad_id_token_hint');
    if (!clientId && audiences.length === 1) clientId = audiences[0];
  }
  const client = clientId ? await findAppClient(db, clientId) : undefined;
  if (clientId && !client) return fail('unknown_client');
  const target = params.get('post_logout_redirect_uri') || undefined;
  if (!target) return signedOut(c, db);
  // §3: without a way to identify the client, the OP must not redirect.
  if (!client) return fail('missing_client');
  if (!isRegisteredLogout(client, target)) return fail('bad_logout_redirect');
  return redirectAfterLogout(c, db, withParams(target, { state: params.get('state') || undefined }));
}

/**
 * Logout. `GET /logout?client_id=&logout_uri=` is Cognito's (or `&redirect_uri=…&response_type=code`: sign out, then
 * sign in again); `GET|POST /oauth2/logout` is the OIDC end_session_endpoint. Both revoke the login session and clear
 * its cookie. A logout URI that is not registered for the client gets an error page, never a redirect.
 */
export const logout = new Hono<AppEnv>()
  .get('/logout', async (c) => {
    const db = database(c.env.DB);
    const clientId = c.req.query('client_id');
    if (!clientId) return errorPage(c, 400, 'missing_client');
    const client = await findAppClient(db, clientId);
    if (!client) return errorPage(c, 400, 'unknown_client');
    const logoutUri = c.req.query('logout_uri');
    if (logoutUri !== undefined) {
      if (!isRegisteredLogout(client, logoutUri)) return errorPage(c, 400, 'bad_logout_redirect');
      return redirectAfterLogout(c, db, logoutUri);
    }
    if (c.req.query('redirect_uri') !== undefined) {
      // Cognito: sign out, then start a new sign-in; /oauth2/authorize validates these parameters itself.
      return redirectAfterLogout(c, db, `/oauth2/authorize${new URL(c.req.url).search}`);
    }
    return signedOut(c, db);
  })
  .get('/oauth2/logout', (c) => endSessionEndpoint(c, new URL(c.req.url).searchParams))
  .post('/oauth2/logout', async (c) => {
    const body = await c.req.parseBody().catch(() => ({}));
    const params = new URLSearchParams(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'));
    return endSessionEndpoint(c, params);
  });
