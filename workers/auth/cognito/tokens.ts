/**
 * Tokens for the Cognito API: the AuthenticationResult of a sign-in or refresh, minted by the one minting path
 * (`mintUserTokens`, with the pre-token step), and the checks an AccessToken passes before GetUser and friends act on it.
 */
import { BearerError } from '../../../lib/errors.ts';
import { ClaimsError } from '../claims/errors.ts';
import type { PreTokenTriggerSource } from '../claims/pretoken.ts';
import { loadSubject, mintUserTokens, type TokenSet } from '../mint.ts';
import { PreTokenHookFailed } from '../pretoken-hook.ts';
import type { AppClient } from '../store/clients.ts';
import { isFamilyRevoked } from '../store/refresh-tokens.ts';
import { findUserById } from '../store/user-lookup.ts';
import type { User } from '../store/users.ts';
import { verifyOwnToken } from '../verify.ts';
import { CognitoError, notAuthorized } from './errors.ts';
import type { CognitoContext } from './operation.ts';

/** The one scope Cognito grants tokens from its API, which GetUser, ChangePassword and the like require. */
export const COGNITO_ADMIN_SCOPE = 'aws.cognito.signin.user.admin';

/** Cognito's AuthenticationResultType. */
export type AuthenticationResult = { AccessToken: string; IdToken: string; RefreshToken?: string; ExpiresIn: number; TokenType: 'Bearer' };

const toResult = (set: TokenSet): AuthenticationResult => ({
  AccessToken: set.access_token,
  IdToken: set.id_token ?? '',
  ...(set.refresh_token ? { RefreshToken: set.refresh_token } : {}),
  ExpiresIn: set.expires_in,
  TokenType: 'Bearer',
});

/**
 * Mints tokens for a user who just proved their password (a new token family with a refresh token), or for a refresh
 * (the refreshed family, no new refresh token, as Cognito without rotation answers). Claims and hook failures fail closed.
 */
export async function authenticationResult(
  ctx: CognitoContext,
  input: { user: User; client: AppClient; triggerSource: PreTokenTriggerSource; refresh?: { familyId: string; authTimeMs: number; scopes: string[] } },
): Promise<AuthenticationResult> {
  const subject = await loadSubject(ctx.db, input.user.id);
  try {
    const set = await mintUserTokens(
      { env: ctx.env, db: ctx.db, config: ctx.auth },
      {
        user: subject?.user ?? input.user,
        ...(subject ? { subject } : {}),
        client: input.client,
        scopes: input.refresh?.scopes ?? [COGNITO_ADMIN_SCOPE],
        authTimeMs: input.refresh?.authTimeMs ?? Date.now(),
        familyId: input.refresh?.familyId ?? crypto.randomUUID(),
        triggerSource: input.triggerSource,
        refresh: input.refresh ? 'none' : 'issue',
      },
    );
    return toResult(set);
  } catch (err) {
    if (err instanceof ClaimsError) throw notAuthorized(err.publicMessage, err.message);
    if (err instanceof PreTokenHookFailed) throw new CognitoError('UserLambdaValidationException', `PreTokenGeneration failed with error ${err.message}.`, { internal: err.message });
    throw err;
  }
}

/** A verified access token of an active user: its claims and the user. */
export type AccessTokenOwner = { user: User; claims: Record<string, unknown>; familyId: string | undefined };

/**
 * Checks an AccessToken as Cognito does for user operations: signature, issuer, expiry, `token_use`, the
 * aws.cognito.signin.user.admin scope, a family not revoked (sign-out), and an existing, enabled user.
 */
export async function requireAccessToken(ctx: CognitoContext, token: string): Promise<AccessTokenOwner> {
  let claims: Record<string, unknown>;
  try {
    claims = await verifyOwnToken(ctx.env, ctx.auth.issuer, token, 'access');
  } catch (err) {
    if (err instanceof BearerError) throw notAuthorized(/expired/.test(err.message) ? 'Access Token has expired' : 'Invalid Access Token', err.message);
    throw err;
  }
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
  if (!scopes.includes(COGNITO_ADMIN_SCOPE)) throw notAuthorized('Access Token does not have required scopes');
  const familyId = typeof claims.origin_jti === 'string' ? claims.origin_jti : undefined;
  if (familyId && (await isFamilyRevoked(ctx.db, familyId))) throw notAuthorized('Access Token has been revoked');
  const user = typeof claims.sub === 'string' ? await findUserById(ctx.db, claims.sub) : undefined;
  if (!user) throw new CognitoError('UserNotFoundException', 'User does not exist.');
  if (!user.enabled) throw notAuthorized('User is disabled.');
  return { user, claims, familyId };
}
