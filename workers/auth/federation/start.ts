import type { Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import type { Database } from '../../db.ts';
import { authConfig } from '../config.ts';
import { sealRequest, type AuthorizeRequest } from '../hosted/authorize-request.ts';
import { bindBrowser } from './browser-binding.ts';
import type { IdentityProvider } from './config.ts';
import { upstreamMetadata } from './discovery.ts';
import { FederationError } from './errors.ts';
import { newFlowSecrets } from './flow-secrets.ts';
import { savePendingFederation, type PendingFederation } from './state-store.ts';

/** Our redirect URI at every upstream, to register there: `${PUBLIC_URL}/oauth2/idpresponse` (Cognito's path). */
export const callbackUrl = (env: Env): string => `${authConfig(env).publicUrl}/oauth2/idpresponse`;

/** What a new upstream sign-in carries: where it began, the sealed request to finish, and the request's prompt and max_age. */
export type FederationStart = {
  origin: PendingFederation['origin'];
  sealedRequest: string | undefined;
  request: Pick<AuthorizeRequest, 'prompt' | 'maxAge'> | undefined;
};

/**
 * Sends the browser to the upstream's authorization endpoint: code flow with PKCE S256 (RFC 7636 §4.3), a fresh
 * `state` (single use, ten minutes, bound to this browser) and `nonce` (OIDC Core §3.1.2.1). The app's `prompt=login`
 * or `prompt=none` and `max_age` go upstream too, so the upstream's own session cannot weaken them.
 * Throws FederationError when the upstream's discovery document cannot be had.
 */
export async function startFederation(c: Context<AppEnv>, db: Database, provider: IdentityProvider, start: FederationStart): Promise<Response> {
  const metadata = await upstreamMetadata(provider);
  const secrets = await newFlowSecrets(c.env.SESSION_COOKIE_KEY);
  const browserHash = await bindBrowser(c);
  await savePendingFederation(db, secrets.state, { provider: provider.name, browserHash, origin: start.origin, request: start.sealedRequest ?? null });

  const url = new URL(metadata.authorizationEndpoint);
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: provider.clientId,
    redirect_uri: callbackUrl(c.env),
    scope: provider.scopes.join(' '),
    state: secrets.state,
    nonce: secrets.nonce,
    code_challenge: secrets.codeChallenge,
    code_challenge_method: 'S256',
    prompt: start.request?.prompt,
    max_age: start.request?.maxAge === undefined ? undefined : String(start.request.maxAge),
  };
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  c.get('log').info('federation started', { provider: provider.name, origin: start.origin });
  c.header('Cache-Control', 'no-store');
  return c.redirect(url.href, 302);
}

/**
 * Starts federation for `/oauth2/authorize?identity_provider=NAME` with the validated request sealed into the state
 * row; a failure (the IdP is down) becomes the OAuthError the authorization endpoint redirects to the app with.
 */
export async function federateAuthorizeRequest(c: Context<AppEnv>, db: Database, provider: IdentityProvider, request: AuthorizeRequest, now = Date.now()): Promise<Response> {
  try {
    return await startFederation(c, db, provider, { origin: 'authorize', sealedRequest: await sealRequest(c.env.SESSION_COOKIE_KEY, request, now), request });
  } catch (err) {
    if (!(err instanceof FederationError)) throw err;
    c.get('log').warn('federation failed', { provider: provider.name, kind: err.kind, internal: err.internal });
    throw err.toOAuth(provider.displayName);
  }
}
