import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { FederationError } from './errors.ts';
import { verifyUpstreamIdToken, type IdTokenExpectations } from './id-token.ts';

const ISSUER = 'https://idp.example/tenant/v2.0';
const CLIENT = 'gatehouse-client';
const NONCE = 'n'.repeat(43);

let keys: IdTokenExpectations['keys'];
let privateKey: CryptoKey;
let otherKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' }] });
});

const sign = (claims: JWTPayload, opts: { key?: CryptoKey; alg?: string; kid?: string; noIat?: boolean } = {}) => {
  const jwt = new SignJWT({ iss: ISSUER, aud: CLIENT, sub: 'upstream-user', nonce: NONCE, exp: Math.floor(Date.now() / 1000) + 300, ...claims })
    .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? 'k1' });
  return (opts.noIat ? jwt : jwt.setIssuedAt()).sign(opts.key ?? privateKey);
};

const verify = (token: string, extra: Partial<IdTokenExpectations> = {}) =>
  verifyUpstreamIdToken(token, { issuer: ISSUER, clientId: CLIENT, nonce: NONCE, advertisedAlgorithms: ['RS256'], keys, ...extra });

/** The failure kind of a verification, or 'ok'. */
const outcome = async (token: Promise<string> | string, extra: Partial<IdTokenExpectations> = {}) => {
  try {
    await verify(await token, extra);
    return 'ok';
  } catch (err) {
    if (err instanceof FederationError) return `${err.kind}: ${err.internal ?? ''}`;
    throw err;
  }
};

describe('verifyUpstreamIdToken', () => {
  it('returns the claims of a good token', async () => {
    const claims = await verify(await sign({ email: 'a@b.example' }));
    expect(claims).toMatchObject({ sub: 'upstream-user', email: 'a@b.example', iss: ISSUER, aud: CLIENT });
  });

  it('accepts several audiences when azp is us', async () => {
    expect(await outcome(sign({ aud: [CLIENT, 'other'], azp: CLIENT }))).toBe('ok');
    expect(await outcome(sign({ aud: [CLIENT, 'other'] }))).toMatch(/^invalid_id_token: azp/);
    expect(await outcome(sign({ azp: 'someone-else' }))).toMatch(/^invalid_id_token: azp/);
  });

  it.each([
    ['another issuer', { iss: 'https://evil.example' }, /^invalid_id_token: JWTClaimValidationFailed.*iss/],
    ['another audience', { aud: 'someone-else' }, /^invalid_id_token: JWTClaimValidationFailed.*aud/],
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 3600 }, /^invalid_id_token: JWTExpired/],
    ['another nonce', { nonce: 'replayed-nonce' }, /^invalid_id_token: nonce mismatch/],
    ['no nonce', { nonce: undefined }, /^invalid_id_token: nonce mismatch/],
    ['no sub', { sub: undefined }, /^invalid_id_token: JWTClaimValidationFailed.*sub/],
  ])('refuses %s', async (_name, claims, expected) => {
    expect(await outcome(sign(claims))).toMatch(expected);
  });

  it('refuses a token without iat, a foreign signature and an unknown kid', async () => {
    expect(await outcome(sign({}, { noIat: true }))).toMatch(/^invalid_id_token: JWTClaimValidationFailed.*iat/);
    expect(await outcome(sign({}, { key: otherKey }))).toMatch(/^invalid_id_token: JWSSignatureVerificationFailed/);
    expect(await outcome(sign({}, { kid: 'k2' }))).toMatch(/^invalid_id_token: JWKSNoMatchingKey/);
  });

  it('refuses HMAC and alg=none tokens, even when the IdP advertises them', async () => {
    const hmac = await new SignJWT({ iss: ISSUER, aud: CLIENT, sub: 'x', nonce: NONCE }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode('client-secret-shared-with-idp'));
    expect(await outcome(hmac, { advertisedAlgorithms: ['RS256', 'HS256'] })).toMatch(/^invalid_id_token: JOSEAlgNotAllowed/);
    const body = btoa(JSON.stringify({ iss: ISSUER, aud: CLIENT, sub: 'x', nonce: NONCE, iat: 1, exp: 9_999_999_999 })).replace(/=+$/, '');
    expect(await outcome(`eyJhbGciOiJub25lIn0.${body}.`, { advertisedAlgorithms: ['RS256', 'none'] })).toMatch(/^invalid_id_token: /);
    expect(await outcome(hmac, { advertisedAlgorithms: ['HS256'] })).toMatch(/^misconfigured: no acceptable algorithm/);
  });

  it('calls a key-set failure an outage, not a bad token', async () => {
    const down: IdTokenExpectations['keys'] = () => Promise.reject(new TypeError('fetch failed'));
    expect(await outcome(sign({}), { keys: down })).toMatch(/^upstream_unavailable: JWKS: TypeError/);
  });
});
