import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { timingSafeEqual } from '../../../lib/encoding.ts';
import { FederationError } from './errors.ts';

/**
 * Signature algorithms accepted on upstream ID tokens: asymmetric only. `none` and the HMAC family are never accepted
 * (an HS256 token would be keyed with our client secret, which the IdP and we share, RFC 8725 §3.1).
 */
export const UPSTREAM_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/** A verified upstream ID token's claims: `sub` is always a string. */
export type UpstreamClaims = JWTPayload & { sub: string };

/** What the verification checks the token against. */
export type IdTokenExpectations = {
  issuer: string;
  clientId: string;
  nonce: string;
  /** The IdP's `id_token_signing_alg_values_supported`; intersected with UPSTREAM_ALGORITHMS. */
  advertisedAlgorithms: readonly string[];
  keys: JWTVerifyGetKey;
  clockToleranceSeconds?: number;
  currentDate?: Date;
};

/** Errors that mean "this token is bad", as opposed to "the keys could not be fetched". */
const TOKEN_FAULTS = [
  errors.JWTClaimValidationFailed,
  errors.JWTExpired,
  errors.JWTInvalid,
  errors.JWSInvalid,
  errors.JWSSignatureVerificationFailed,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
  errors.JWKInvalid,
];

/**
 * Validates an upstream ID token as OIDC Core §3.1.3.7 requires: signature by the IdP's JWKS with an allowed
 * algorithm, `iss` exactly the issuer, our client id in `aud` (and as `azp` when there are several audiences), `exp`
 * and `iat` present and `exp` not passed, and the `nonce` we sent. Throws FederationError(`invalid_id_token`), or
 * (`upstream_unavailable`) when the JWKS cannot be fetched.
 */
export async function verifyUpstreamIdToken(idToken: string, expect: IdTokenExpectations): Promise<UpstreamClaims> {
  const algorithms = UPSTREAM_ALGORITHMS.filter((a) => expect.advertisedAlgorithms.includes(a));
  if (algorithms.length === 0) throw new FederationError('misconfigured', `no acceptable algorithm among ${expect.advertisedAlgorithms.join(',')}`);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, expect.keys, {
      issuer: expect.issuer,
      audience: expect.clientId,
      algorithms: [...algorithms],
      requiredClaims: ['sub', 'exp', 'iat'],
      clockTolerance: expect.clockToleranceSeconds ?? 60,
      ...(expect.currentDate ? { currentDate: expect.currentDate } : {}),
    }));
  } catch (err) {
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    if (TOKEN_FAULTS.some((fault) => err instanceof fault)) throw new FederationError('invalid_id_token', detail);
    throw new FederationError('upstream_unavailable', `JWKS: ${detail}`);
  }
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) throw new FederationError('invalid_id_token', 'sub is missing or too long');
  // OIDC Core §3.1.3.7 (4, 5): with several audiences, azp must be present and be us.
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if ((audiences.length > 1 || payload.azp !== undefined) && payload.azp !== expect.clientId) throw new FederationError('invalid_id_token', 'azp is not our client id');
  // OIDC Core §3.1.3.7 (11): the nonce must be the one we sent.
  if (typeof payload.nonce !== 'string' || !timingSafeEqual(payload.nonce, expect.nonce)) throw new FederationError('invalid_id_token', 'nonce mismatch');
  return { ...payload, sub };
}
