import { Hono } from 'hono';
import { OAuthError } from '../../../lib/errors.ts';
import type { AppEnv } from '../../app-env.ts';
import { database } from '../../db.ts';
import { isRegisteredRedirect, requireClient } from '../clients.ts';
import { findProvider, type IdentityProvider } from '../federation/config.ts';
import { federateAuthorizeRequest } from '../federation/start.ts';
import { currentSession } from '../session.ts';
import type { AppClient } from '../store/clients.ts';
import { isRepeated, sealRequest, validateAuthorizeParams } from './authorize-request.ts';
import { errorRedirect, issueCodeRedirect } from './complete.ts';
import { errorPage } from './error-page.tsx';
import { pageHref } from './ui.tsx';

/**
 * The configured upstream provider an authorize request names with `identity_provider` (Cognito's parameter), and the
 * parameters without it for the usual validation; an unknown name stays in, and validation refuses it.
 */
function federatedTarget(env: Env, params: URLSearchParams): { provider: IdentityProvider | undefined; params: URLSearchParams } {
  const name = params.get('identity_provider');
  if (name === null || name === 'COGNITO' || isRepeated(params, 'identity_provider')) return { provider: undefined, params };
  const provider = findProvider(env, name);
  if (!provider) return { provider, params };
  const rest = new URLSearchParams(params);
  rest.delete('identity_provider');
  return { provider, params: rest };
}

/**
 * `GET /oauth2/authorize`: the authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2). The client and redirect
 * URI are checked first and their failures render a page, never a redirect (RFC 6749 §4.1.2.1 and §10.15: an open
 * redirector otherwise); every later failure goes back to the client as an error redirect. `identity_provider=NAME`
 * sends the browser straight to that upstream IdP (federation/start.ts), whatever session we hold, as Cognito does.
 * Otherwise a live session answers at once with a code, or the browser goes to the sign-in form carrying the sealed request.
 */
export const authorize = new Hono<AppEnv>().get('/oauth2/authorize', async (c) => {
  const params = new URL(c.req.url).searchParams;
  const db = database(c.env.DB);
  const clientId = params.get('client_id');
  if (!clientId || isRepeated(params, 'client_id')) return errorPage(c, 400, 'missing_client');
  let client: AppClient;
  try {
    client = await requireClient(db, clientId);
  } catch (err) {
    if (err instanceof OAuthError) return errorPage(c, 400, 'unknown_client');
    throw err;
  }
  const redirectUri = params.get('redirect_uri');
  if (!redirectUri || isRepeated(params, 'redirect_uri') || !isRegisteredRedirect(client, redirectUri)) return errorPage(c, 400, 'bad_redirect');

  const rawState = params.get('state');
  const state = rawState && rawState.length <= 2048 && !isRepeated(params, 'state') ? rawState : undefined;
  const target = federatedTarget(c.env, params);
  try {
    const request = validateAuthorizeParams(client, redirectUri, target.params);
    const now = Date.now();
    if (target.provider) return await federateAuthorizeRequest(c, db, target.provider, request, now);
    const active = request.prompt === 'login' ? undefined : await currentSession(c, db, now);
    // OIDC Core §3.1.2.1 max_age: an older sign-in must be repeated.
    const fresh = active && (request.maxAge === undefined || now - active.session.authTime <= request.maxAge * 1000);
    if (active && fresh) return await issueCodeRedirect(c, db, request, active.user, active.session.authTime);
    // OIDC Core §3.1.2.6: prompt=none must not show anything.
    if (request.prompt === 'none') throw new OAuthError('login_required', 'The user is not signed in.');
    c.header('Cache-Control', 'no-store');
    return c.redirect(pageHref('/login', await sealRequest(c.env.SESSION_COOKIE_KEY, request, now)), 302);
  } catch (err) {
    if (err instanceof OAuthError) return errorRedirect(c, { redirectUri, state }, err);
    throw err;
  }
});
