import { exports } from 'cloudflare:workers';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { keyRing } from '../workers/auth/keys.ts';
import { env } from 'cloudflare:workers';
import { basic } from './support/auth-fixtures.ts';
import { BASE, callWith, expectBearerError, ISSUER, signIn, signOwn } from './gateway.test-fixture.ts';

/** A stand-in Hasura (a `HASURA` service binding) that answers with what it received. */
const echo = {
  fetch: async (req: Request) => Response.json({ method: req.method, headers: Object.fromEntries(req.headers), body: await req.text() }),
};
const graphql = (token: string | null, vars: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  callWith({ HASURA: echo, ...vars }, '/v1/graphql', token, { method: 'POST', body: '{"query":"{ __typename }"}', headers: { 'content-type': 'application/json', ...headers } });

describe('bearer verification (RFC 6750)', () => {
  it('lets valid access and ID tokens through, and passes Authorization upstream', async () => {
    const { access, id } = await signIn();
    for (const token of [access, id]) {
      const res = await graphql(token);
      expect(res.status).toBe(200);
      const seen = (await res.json()) as { headers: Record<string, string> };
      expect(seen.headers.authorization).toBe(`Bearer ${token}`);
    }
  });

  it('answers 401 invalid_token without a token, and 400 invalid_request for another scheme', async () => {
    await expectBearerError(await graphql(null), 401, 'invalid_token');
    await expectBearerError(await graphql(null, {}, { Authorization: 'Basic dXNlcjpwYXNz' }), 400, 'invalid_request');
  });

  it('refuses malformed, expired, not-yet-valid and wrongly issued tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sub = crypto.randomUUID();
    const cases: [string, string][] = [
      ['not.a.jwt', 'malformed'],
      [await signOwn({ sub, exp: now - 120, iat: now - 700 }), 'expired'],
      [await signOwn({ sub, nbf: now + 300 }), 'not valid yet'],
      [await signOwn({ sub, iss: 'https://evil.example' }), 'does not trust'],
      [await signOwn({ sub, token_use: 'refresh' }), 'access or ID token'],
      [await signOwn({ sub, token_use: undefined }), 'access or ID token'],
      [await signOwn({ sub, exp: undefined }), 'malformed'],
    ];
    for (const [token, reason] of cases) {
      const res = await graphql(token);
      await expectBearerError(res, 401, 'invalid_token');
      expect(res.headers.get('www-authenticate')).toContain(reason);
    }
  });

  it('tolerates clock skew as configured (CLOCK_SKEW_SECONDS)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signOwn({ sub: crypto.randomUUID(), exp: now - 20, iat: now - 600 });
    expect((await graphql(token)).status).toBe(200);
    await expectBearerError(await graphql(token, { CLOCK_SKEW_SECONDS: '0' }), 401, 'invalid_token');
  });

  it('accepts only RS256 from its own keys: HS256, alg none and a foreign key with our kid are refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: ISSUER, sub: crypto.randomUUID(), token_use: 'access', iat: now, exp: now + 600 };
    const ring = await keyRing(env.JWT_SIGNING_KEYS);
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: ring.signer.kid }).sign(new TextEncoder().encode('x'.repeat(32)));
    const none = `${btoa(JSON.stringify({ alg: 'none' })).replace(/=+$/, '')}.${btoa(JSON.stringify(claims)).replace(/=+$/, '')}.`;
    const foreign = await generateKeyPair('RS256', { extractable: true });
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: ring.signer.kid }).sign(foreign.privateKey);
    expect((await exportJWK(foreign.publicKey)).kty).toBe('RSA');
    for (const token of [hs, none, forged]) await expectBearerError(await graphql(token), 401, 'invalid_token');
    expect((await graphql(hs)).headers.get('www-authenticate')).toContain('algorithm');
  });

  it('refuses the access tokens of a revoked sign-in (origin_jti family)', async () => {
    const { access, refresh, clientId, secret } = await signIn();
    expect((await graphql(access)).status).toBe(200);
    const revoked = await exports.default.fetch(`${BASE}/oauth2/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', Authorization: basic(clientId, secret) },
      body: new URLSearchParams({ token: refresh }).toString(),
    });
    expect(revoked.status).toBe(200);
    const res = await graphql(access);
    await expectBearerError(res, 401, 'invalid_token');
    expect(res.headers.get('www-authenticate')).toContain('revoked');
  });

  it('checks the audience (aud or client_id) against API_AUDIENCES when set', async () => {
    const { access, id, clientId } = await signIn();
    await expectBearerError(await graphql(access, { API_AUDIENCES: 'some-other-client' }), 401, 'invalid_token');
    expect((await graphql(access, { API_AUDIENCES: `other,${clientId}` })).status).toBe(200);
    expect((await graphql(id, { API_AUDIENCES: clientId })).status).toBe(200);
  });

  it('answers 403 insufficient_scope when API_REQUIRED_SCOPES are missing (ID tokens carry no scope)', async () => {
    const { access, id } = await signIn();
    await expectBearerError(await graphql(access, { API_REQUIRED_SCOPES: 'api/read' }), 403, 'insufficient_scope');
    await expectBearerError(await graphql(id, { API_REQUIRED_SCOPES: 'openid' }), 403, 'insufficient_scope');
    expect((await graphql(access, { API_REQUIRED_SCOPES: 'openid email' })).status).toBe(200);
  });

  it('answers 503 (not 401) when a trusted issuer\'s keys cannot be fetched, and 401 for issuers not trusted', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT({ sub: 'ext-1', aud: 'app' }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer('http://127.0.0.1:1').setIssuedAt(now).setExpirationTime(now + 60).sign(privateKey);
    const trusted = JSON.stringify([{ issuer: 'http://127.0.0.1:1', audience: 'app', jwksUri: 'http://127.0.0.1:1/jwks' }]);
    const res = await graphql(token, { TRUSTED_ISSUERS: trusted });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    await expectBearerError(await graphql(token), 401, 'invalid_token');
  });
});
