import { createLocalJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { BearerError } from '../../lib/errors.ts';
import { keyRing } from './keys.ts';

/** How much clock skew token checks tolerate, in seconds. */
export const CLOCK_SKEW_SECONDS = 60;

const jwksCache = new Map<string, ReturnType<typeof createLocalJWKSet>>();

/**
 * Verifies a token Gatehouse issued: RS256 signature by a published key, `iss`, expiry, and `token_use`.
 * Every failure is an RFC 6750 `invalid_token` with a short reason.
 */
export async function verifyOwnToken(env: Env, issuer: string, token: string, use: 'access' | 'id'): Promise<JWTPayload & Record<string, unknown>> {
  let jwks = jwksCache.get(env.JWT_SIGNING_KEYS);
  if (!jwks) {
    jwks = createLocalJWKSet((await keyRing(env.JWT_SIGNING_KEYS)).jwks);
    jwksCache.set(env.JWT_SIGNING_KEYS, jwks);
  }
  try {
    const { payload } = await jwtVerify(token, jwks, { issuer, algorithms: ['RS256'], clockTolerance: CLOCK_SKEW_SECONDS });
    if (payload.token_use !== use) throw new BearerError('invalid_token', `An ${use} token is required.`);
    return payload as JWTPayload & Record<string, unknown>;
  } catch (err) {
    if (err instanceof BearerError) throw err;
    if (err instanceof errors.JWTExpired) throw new BearerError('invalid_token', 'The token has expired.');
    throw new BearerError('invalid_token', 'The token is malformed or its signature is invalid.', { internal: err instanceof Error ? err.message : String(err) });
  }
}

/** Reads an RFC 6750 §2.1 bearer token from the Authorization header (or §2.2 form body when allowed). */
export function bearerToken(authorization: string | undefined): string {
  if (!authorization) throw new BearerError('invalid_token', 'An access token is required.');
  const match = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(authorization);
  if (!match?.[1]) throw new BearerError('invalid_request', 'The Authorization header is not a Bearer token.');
  return match[1];
}
