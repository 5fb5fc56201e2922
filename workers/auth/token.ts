import { Hono, type Context } from 'hono';
import { OAuthError } from '../../lib/errors.ts';
import { verifyPkce } from '../../lib/pkce.ts';
import type { AppEnv } from '../app-env.ts';
import { database, type Database } from '../db.ts';
import { ClaimsError } from './claims/errors.ts';
import { authenticateClient } from './client-auth.ts';
import { authConfig } from './config.ts';
import { loadSubject, mintClientToken, mintUserTokens, type MintContext, type Subject, type TokenSet } from './mint.ts';
import { PreTokenHookFailed } from './pretoken-hook.ts';
import { OIDC_SCOPES, parseScope, requireAllowedScopes } from './scopes.ts';
import type { AppClient } from './store/clients.ts';
import { redeemAuthCode } from './store/codes.ts';
import { revokeFamily, rotateRefreshToken } from './store/refresh-tokens.ts';
import type { User } from './store/users.ts';

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/** A user may receive tokens only while enabled and confirmed (or federated: EXTERNAL_PROVIDER). */
function requireActiveUser(subject: Subject | undefined): Subject & { user: User } {
  const user = subject?.user;
  if (!subject || !user || !user.enabled || (user.status !== 'CONFIRMED' && user.status !== 'EXTERNAL_PROVIDER')) {
    throw new OAuthError('invalid_grant', 'The grant is no longer valid.', { internal: user ? `user ${user.id} is ${user.enabled ? user.status : 'disabled'}` : 'user deleted' });
  }
  return subject;
}

/** Turns the pre-token step's failures into a clear, closed sign-in failure. */
async function mintOrFail(run: () => Promise<TokenSet>): Promise<TokenSet> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ClaimsError) throw new OAuthError('invalid_grant', err.publicMessage, { internal: err.message });
    if (err instanceof PreTokenHookFailed) throw new OAuthError('invalid_grant', `Sign-in failed: ${err.message}.`, { internal: err.message });
    throw err;
  }
}

/** RFC 6749 §4.1.3 with RFC 7636 §4.6. */
async function authorizationCodeGrant(ctx: MintContext, client: AppClient, form: URLSearchParams): Promise<TokenSet> {
  const code = form.get('code');
  const redirectUri = form.get('redirect_uri');
  if (!code) throw new OAuthError('invalid_request', 'The code parameter is required.');
  const redeemed = await redeemAuthCode(ctx.db, code);
  if (!redeemed.ok) {
    if (redeemed.reason === 'replayed') {
      // RFC 6749 §4.1.2: a replayed code revokes the tokens issued from it.
      await revokeFamily(ctx.db, redeemed.familyId, 'code_replay', Date.now() + 31 * 86_400_000);
    }
    throw new OAuthError('invalid_grant', 'The authorization code is invalid, expired or already used.', { internal: `code ${redeemed.reason}` });
  }
  const grant = redeemed.grant;
  if (grant.clientId !== client.id) throw new OAuthError('invalid_grant', 'The authorization code was issued to another client.');
  if (redirectUri !== grant.redirectUri) throw new OAuthError('invalid_grant', 'The redirect_uri does not match the authorization request.');
  const verifier = form.get('code_verifier');
  if (grant.codeChallenge) {
    if (!verifier) throw new OAuthError('invalid_grant', 'The code_verifier parameter is required (PKCE).');
    if (!(await verifyPkce(verifier, grant.codeChallenge, grant.codeChallengeMethod ?? 'S256'))) {
      throw new OAuthError('invalid_grant', 'The code_verifier does not match the code_challenge.');
    }
  } else if (verifier) {
    throw new OAuthError('invalid_grant', 'A code_verifier was sent but the authorization request had no code_challenge.');
  }
  const subject = requireActiveUser(await loadSubject(ctx.db, grant.userId));
  return mintOrFail(() =>
    mintUserTokens(ctx, {
      user: subject.user,
      subject,
      client,
      scopes: grant.scopes,
      nonce: grant.nonce,
      authTimeMs: grant.authTime,
      familyId: grant.familyId,
      triggerSource: 'TokenGeneration_HostedAuth',
      refresh: client.grantTypes.includes('refresh_token') ? 'issue' : 'none',
    }),
  );
}

/** RFC 6749 §6, with rotation and reuse detection. */
async function refreshTokenGrant(ctx: MintContext, client: AppClient, form: URLSearchParams): Promise<TokenSet> {
  const token = form.get('refresh_token');
  if (!token) throw new OAuthError('invalid_request', 'The refresh_token parameter is required.');
  const rotated = await rotateRefreshToken(ctx.db, token, client.id, client.refreshGraceSeconds);
  if (!rotated.ok) throw new OAuthError('invalid_grant', 'The refresh token is invalid, expired or revoked.', { internal: `refresh ${rotated.reason}` });
  const grant = rotated.grant;
  // RFC 6749 §6: a narrower scope may be asked for, never a wider one.
  const requested = form.has('scope') ? parseScope(form.get('scope')) : grant.scopes;
  const extra = requested.filter((s) => !grant.scopes.includes(s));
  if (extra.length) throw new OAuthError('invalid_scope', `The refresh token was not granted: ${extra.join(' ')}.`);
  const subject = requireActiveUser(await loadSubject(ctx.db, grant.userId));
  return mintOrFail(() =>
    mintUserTokens(ctx, {
      user: subject.user,
      subject,
      client,
      scopes: requested,
      authTimeMs: grant.authTime,
      familyId: grant.familyId,
      triggerSource: 'TokenGeneration_RefreshTokens',
      refresh: 'issue',
    }),
  );
}

/** RFC 6749 §4.4: confidential clients only, API scopes only. */
async function clientCredentialsGrant(ctx: MintContext, client: AppClient, form: URLSearchParams, publicClient: boolean): Promise<TokenSet> {
  if (publicClient) throw new OAuthError('unauthorized_client', 'Public clients cannot use client_credentials.');
  const apiScopes = client.allowedScopes.filter((s) => !OIDC_SCOPES.includes(s));
  const requested = form.has('scope') ? parseScope(form.get('scope')) : apiScopes;
  if (requested.some((s) => OIDC_SCOPES.includes(s))) throw new OAuthError('invalid_scope', 'client_credentials tokens cannot carry OpenID Connect scopes.');
  requireAllowedScopes(requested, apiScopes);
  return mintClientToken(ctx, client, requested);
}

const GRANTS = ['authorization_code', 'refresh_token', 'client_credentials'] as const;

async function readForm(c: Context<AppEnv>): Promise<URLSearchParams> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
    throw new OAuthError('invalid_request', 'The body must be application/x-www-form-urlencoded.');
  }
  const form = new URLSearchParams(await c.req.text());
  // RFC 6749 §3.2: parameters must not be repeated.
  for (const key of new Set(form.keys())) if (form.getAll(key).length > 1) throw new OAuthError('invalid_request', `The ${key} parameter is repeated.`);
  return form;
}

/** `POST /oauth2/token`. */
export const token = new Hono<AppEnv>().post('/oauth2/token', async (c) => {
  const form = await readForm(c);
  const db: Database = database(c.env.DB);
  const grantType = form.get('grant_type');
  if (!grantType) throw new OAuthError('invalid_request', 'The grant_type parameter is required.');
  if (!(GRANTS as readonly string[]).includes(grantType)) throw new OAuthError('unsupported_grant_type', `The grant type ${grantType} is not supported.`);
  const { client, method } = await authenticateClient(db, c.req.header('authorization'), form);
  if (!client.grantTypes.includes(grantType as (typeof GRANTS)[number])) {
    throw new OAuthError('unauthorized_client', `This client may not use the ${grantType} grant.`);
  }
  const ctx: MintContext = { env: c.env, db, config: authConfig(c.env) };
  const set =
    grantType === 'authorization_code'
      ? await authorizationCodeGrant(ctx, client, form)
      : grantType === 'refresh_token'
        ? await refreshTokenGrant(ctx, client, form)
        : await clientCredentialsGrant(ctx, client, form, method === 'none');
  return c.json(set, 200, NO_STORE);
});
