import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { BearerError, Problem } from '../../lib/errors.ts';
import { keyRing } from '../auth/keys.ts';
import { isFamilyRevoked } from '../auth/store/refresh-tokens.ts';
import type { Database } from '../db.ts';
import type { GatewayConfig, TrustedIssuer } from './config.ts';
import { principalOf, type Principal } from './principal.ts';
import { issuerKeySet } from './remote-jwks.ts';

/**
 * Bearer token verification for the gateway and the Client API: our own tokens against our JWKS, and tokens of trusted
 * external OpenID Connect issuers against theirs. Every failure is an RFC 6750 §3.1 `invalid_token` with a short reason
 * (the precise one goes to the logs only).
 */

const ownSets = new Map<string, JWTVerifyGetKey>();

async function ownKeySet(secret: string): Promise<JWTVerifyGetKey> {
  let set = ownSets.get(secret);
  if (!set) {
    set = createLocalJWKSet((await keyRing(secret)).jwks);
    ownSets.set(secret, set);
  }
  return set;
}

/** Maps jose's failures to the reason the client is told. */
function invalid(err: unknown): BearerError {
  if (err instanceof BearerError) return err;
  const internal = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (err instanceof errors.JWTExpired) return new BearerError('invalid_token', 'The token has expired.', { internal });
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'nbf') return new BearerError('invalid_token', 'The token is not valid yet.', { internal });
  if (err instanceof errors.JOSEAlgNotAllowed) return new BearerError('invalid_token', 'The token is signed with an algorithm that is not accepted.', { internal });
  if (err instanceof errors.JWKSNoMatchingKey) return new BearerError('invalid_token', 'The token is signed with an unknown key.', { internal });
  return new BearerError('invalid_token', 'The token is malformed or its signature is invalid.', { internal });
}

/** The `aud` values, or the Cognito-style `client_id` of access tokens (which have no `aud`). */
function audiences(payload: JWTPayload): string[] {
  const aud = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
  return typeof payload.client_id === 'string' ? [...aud, payload.client_id] : aud;
}

/** Verifies a token of this platform: RS256 by a published key, issuer, lifetime, `token_use`, audience. */
async function verifyOwn(env: Env, config: GatewayConfig, token: string): Promise<Principal> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, await ownKeySet(env.JWT_SIGNING_KEYS), {
      issuer: config.issuer,
      algorithms: ['RS256'],
      clockTolerance: config.clockSkewSeconds,
      requiredClaims: ['exp', 'iat', 'sub'],
    }));
  } catch (err) {
    throw invalid(err);
  }
  if (payload.token_use !== 'access' && payload.token_use !== 'id') throw new BearerError('invalid_token', 'An access or ID token is required.');
  if (config.audiences.length > 0 && !audiences(payload).some((a) => config.audiences.includes(a))) {
    throw new BearerError('invalid_token', 'The token was issued to a client this API does not accept.');
  }
  return principalOf(payload, { own: true, url: config.issuer });
}

/** Verifies a token of a trusted external issuer: its algorithms, keys (cached remote JWKS), audience and lifetime. */
async function verifyTrusted(config: GatewayConfig, trusted: TrustedIssuer, token: string): Promise<Principal> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, issuerKeySet(trusted.issuer, trusted.jwksUri), {
      issuer: [trusted.issuer, `${trusted.issuer}/`],
      algorithms: trusted.algorithms,
      clockTolerance: config.clockSkewSeconds,
      requiredClaims: ['exp', 'sub'],
    }));
  } catch (err) {
    if (err instanceof errors.JOSEError) throw invalid(err);
    // Not the token's fault: the issuer's keys could not be fetched and none are cached.
    throw new Problem(503, 'Service Unavailable', {
      detail: 'The token issuer\'s keys cannot be fetched right now.',
      headers: { 'Retry-After': '30' },
      internal: err instanceof Error ? err.message : String(err),
    });
  }
  if (!audiences(payload).some((a) => trusted.audience.includes(a))) throw new BearerError('invalid_token', 'The token was issued for another audience.');
  if (trusted.tokenUse && payload.token_use !== trusted.tokenUse) throw new BearerError('invalid_token', `An ${trusted.tokenUse} token is required.`);
  return principalOf(payload, { own: false, url: trusted.issuer });
}

/**
 * Verifies a bearer token from this platform or a trusted issuer (signature, algorithm, issuer, audience, lifetime,
 * `token_use`) and returns whom it speaks for. Revocation is checked apart (`assertNotRevoked`), so callers can run
 * that database read alongside other work.
 */
export async function verifyBearer(env: Env, config: GatewayConfig, token: string): Promise<Principal> {
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch (err) {
    throw invalid(err);
  }
  if (typeof iss !== 'string') throw new BearerError('invalid_token', 'The token has no issuer.');
  const issuer = iss.replace(/\/+$/, '');
  if (issuer === config.issuer) return verifyOwn(env, config, token);
  const trusted = config.trustedIssuers.find((t) => t.issuer === issuer);
  if (!trusted) throw new BearerError('invalid_token', 'The token was issued by an issuer this API does not trust.');
  return verifyTrusted(config, trusted, token);
}

const notRevoked = new Map<string, number>();
const MAX_CACHED_FAMILIES = 10_000;

/**
 * 401 `invalid_token` when the principal's sign-in (its `origin_jti` family) was revoked: sign-out, revocation, disable,
 * delete. With `REVOCATION_CACHE_SECONDS` > 0 a family found live is not looked up again for that long in this isolate,
 * which saves a database read per request at the price of revocations taking up to that long to reach the gateway.
 */
export async function assertNotRevoked(db: Database, principal: Principal, cacheSeconds = 0, now = Date.now()): Promise<void> {
  const family = principal.own ? principal.familyId : undefined;
  if (!family) return;
  if (cacheSeconds > 0 && (notRevoked.get(family) ?? -Infinity) > now - cacheSeconds * 1000) return;
  if (await isFamilyRevoked(db, family)) throw new BearerError('invalid_token', 'The token has been revoked.');
  if (cacheSeconds > 0) {
    if (notRevoked.size >= MAX_CACHED_FAMILIES) notRevoked.clear();
    notRevoked.set(family, now);
  }
}

/** RFC 6750 §3.1 `insufficient_scope` unless an access token carries every required scope. */
export function requireScopes(principal: Principal, scopes: readonly string[]): void {
  if (scopes.length === 0) return;
  const missing = principal.tokenUse === 'id' ? [...scopes] : scopes.filter((s) => !principal.scopes.includes(s));
  if (missing.length > 0) throw new BearerError('insufficient_scope', `An access token with scope ${missing.join(' ')} is required.`);
}
