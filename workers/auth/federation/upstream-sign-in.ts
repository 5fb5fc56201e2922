import type { Database } from '../../db.ts';
import { authConfig } from '../config.ts';
import type { IdentityProvider } from './config.ts';
import { upstreamKeys, upstreamMetadata } from './discovery.ts';
import { FederationError, upstreamAuthorizationError } from './errors.ts';
import { exchangeCode } from './exchange.ts';
import { secretsOf } from './flow-secrets.ts';
import { verifyUpstreamIdToken } from './id-token.ts';
import { resolveFederatedUser, type FederatedUser } from './link.ts';
import { admitProfile } from './profile.ts';
import { callbackUrl } from './start.ts';

/** The upstream's answer at the callback, already checked for shape (RFC 6749 §4.1.2 / §4.1.2.1, RFC 9207 `iss`). */
export type UpstreamAnswer = { state: string; code?: string | undefined; error?: string | undefined; iss?: string | undefined };

/**
 * Turns the upstream's answer into a local user: checks who answered, exchanges the code with the PKCE verifier of this
 * state, verifies the ID token against this state's nonce, applies the provider's admission rules, and links or creates
 * the user. Every expected failure is a FederationError.
 */
export async function completeUpstreamSignIn(env: Env, db: Database, provider: IdentityProvider, answer: UpstreamAnswer): Promise<FederatedUser> {
  // RFC 9207 §2.4: an IdP that names itself must be the one this state was sent to (mix-up defence).
  if (answer.iss !== undefined && answer.iss !== provider.issuer) throw new FederationError('upstream_error', `callback iss ${answer.iss.slice(0, 128)} is not ${provider.issuer}`);
  if (answer.error !== undefined) throw upstreamAuthorizationError(answer.error);
  if (!answer.code) throw new FederationError('upstream_error', 'callback without code or error');

  const metadata = await upstreamMetadata(provider);
  const secrets = await secretsOf(env.SESSION_COOKIE_KEY, answer.state);
  const idToken = await exchangeCode(provider, metadata, { code: answer.code, codeVerifier: secrets.codeVerifier, redirectUri: callbackUrl(env) });
  const claims = await verifyUpstreamIdToken(idToken, {
    issuer: provider.issuer,
    clientId: provider.clientId,
    nonce: secrets.nonce,
    advertisedAlgorithms: metadata.idTokenAlgorithms,
    keys: upstreamKeys(metadata.jwksUri),
  });
  const profile = admitProfile(provider, claims);
  return resolveFederatedUser(db, { provider, poolId: authConfig(env).userPoolId, profile });
}
