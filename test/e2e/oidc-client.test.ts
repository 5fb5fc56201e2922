import { createRemoteJWKSet, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import * as client from 'openid-client';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { browserLogin } from './util/browser-login.ts';

/**
 * The identity provider driven by a real third-party OIDC client library (openid-client v6) against the running Worker:
 * the browser-style code flow with PKCE, refresh rotation and reuse detection, userinfo, revocation, client credentials.
 */
const baseUrl = inject('baseUrl');
const fx = inject('fixtures');
const insecure = { execute: [client.allowInsecureRequests] };

let confidential: client.Configuration;
let publicClient: client.Configuration;

beforeAll(async () => {
  confidential = await client.discovery(new URL(baseUrl), fx.confidentialClient.clientId, undefined, client.ClientSecretBasic(fx.confidentialClient.clientSecret), insecure);
  publicClient = await client.discovery(new URL(baseUrl), fx.publicClient.clientId, undefined, client.None(), insecure);
});

/** Runs the whole browser flow and returns the token response plus what the test checks it against. */
async function signIn(config: client.Configuration, scope = 'openid email profile') {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: fx.redirectUri,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const callback = await browserLogin(url.href, fx.user);
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  return { tokens, callback, verifier, state, nonce };
}

const expectOAuthError = async (promise: Promise<unknown>, error: string) => {
  await expect(promise).rejects.toMatchObject({ error });
};

describe('authorization code flow with PKCE (openid-client)', () => {
  it('signs in through the hosted page and verifies the ID token and every claim', async () => {
    const { tokens, nonce } = await signIn(confidential);
    const jwks = createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`));
    const { payload: id, protectedHeader } = await jwtVerify(tokens.id_token!, jwks, { issuer: baseUrl, audience: fx.confidentialClient.clientId });
    expect(protectedHeader.alg).toBe('RS256');
    expect(id).toMatchObject({
      sub: fx.user.id,
      iss: baseUrl,
      aud: fx.confidentialClient.clientId,
      token_use: 'id',
      nonce,
      email: fx.user.email,
      email_verified: true,
      'cognito:username': fx.user.email,
      'cognito:groups': ['editors'],
    });
    for (const claim of ['auth_time', 'iat', 'exp', 'jti', 'origin_jti', 'event_id']) expect(id[claim], claim).toBeDefined();
    expect(id.exp! - id.iat!).toBe(3600);
    expect(JSON.parse(id['https://hasura.io/jwt/claims'] as string)).toEqual({
      'x-hasura-user-id': fx.user.id,
      'x-hasura-default-role': 'editor',
      'x-hasura-allowed-roles': ['editor', 'viewer'],
      'x-hasura-user-db-id': '7',
    });
    const { payload: access } = await jwtVerify(tokens.access_token, jwks, { issuer: baseUrl });
    expect(access).toMatchObject({ sub: fx.user.id, client_id: fx.confidentialClient.clientId, token_use: 'access', scope: 'openid email profile', username: fx.user.email, version: 2 });
    expect(access.origin_jti).toBe(id.origin_jti);
    expect(access.event_id).toBe(id.event_id);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBe(3600);
  });

  it('works for a public client (no secret, PKCE S256)', async () => {
    const { tokens } = await signIn(publicClient);
    expect(tokens.claims()?.aud).toBe(fx.publicClient.clientId);
    expect(tokens.refresh_token).toBeTruthy();
  });

  it('refuses to redeem the same code twice, and revokes what the first redemption minted', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(confidential, { redirect_uri: fx.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state });
    const callback = await browserLogin(url.href, fx.user);
    const first = await client.authorizationCodeGrant(confidential, callback, { pkceCodeVerifier: verifier, expectedState: state });
    await expectOAuthError(client.authorizationCodeGrant(confidential, callback, { pkceCodeVerifier: verifier, expectedState: state }), 'invalid_grant');
    await expectOAuthError(client.refreshTokenGrant(confidential, first.refresh_token!), 'invalid_grant');
  });

  it('refuses a missing or wrong PKCE verifier', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(confidential, { redirect_uri: fx.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state });
    const callback = await browserLogin(url.href, fx.user);
    await expectOAuthError(client.authorizationCodeGrant(confidential, callback, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: state }), 'invalid_grant');
    const again = await browserLogin(url.href, fx.user);
    await expectOAuthError(client.authorizationCodeGrant(confidential, again, { expectedState: state }), 'invalid_grant');
  });

  it('never redirects to an unregistered redirect_uri', async () => {
    const url = client.buildAuthorizationUrl(confidential, { redirect_uri: 'https://evil.example/cb', scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('sends invalid_scope back to the client for a scope it may not ask for', async () => {
    const url = client.buildAuthorizationUrl(confidential, { redirect_uri: fx.redirectUri, scope: 'openid admin:all', state: 's1', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(fx.redirectUri);
    expect(location.searchParams.get('error')).toBe('invalid_scope');
    expect(location.searchParams.get('state')).toBe('s1');
  });
});

describe('refresh, userinfo and revocation (openid-client)', () => {
  it('rotates refresh tokens and detects reuse of a rotated one', async () => {
    const { tokens } = await signIn(confidential);
    const next = await client.refreshTokenGrant(confidential, tokens.refresh_token!);
    expect(next.refresh_token).toBeTruthy();
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(next.claims()?.sub).toBe(fx.user.id);
    const third = await client.refreshTokenGrant(confidential, next.refresh_token!);
    await expectOAuthError(client.refreshTokenGrant(confidential, tokens.refresh_token!), 'invalid_grant');
    // Reuse revoked the whole family, including the newest token.
    await expectOAuthError(client.refreshTokenGrant(confidential, third.refresh_token!), 'invalid_grant');
  });

  it('answers userinfo for the access token, and stops after revocation', async () => {
    const { tokens } = await signIn(confidential);
    const info = await client.fetchUserInfo(confidential, tokens.access_token, fx.user.id);
    expect(info).toMatchObject({ sub: fx.user.id, email: fx.user.email, username: fx.user.email, email_verified: 'true' });
    await client.tokenRevocation(confidential, tokens.refresh_token!);
    await expectOAuthError(client.refreshTokenGrant(confidential, tokens.refresh_token!), 'invalid_grant');
    await expect(client.fetchUserInfo(confidential, tokens.access_token, fx.user.id)).rejects.toThrow();
  });

  it('refuses tampered and expired tokens at userinfo', async () => {
    const { tokens } = await signIn(confidential);
    const [h, p, s] = tokens.access_token.split('.');
    const tampered = `${h}.${p}.${s!.slice(0, -4)}AAAA`;
    const res = await fetch(`${baseUrl}/oauth2/userInfo`, { headers: { Authorization: `Bearer ${tampered}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    // An expired token signed with the real key: only the expiry is wrong.
    const jwk = (JSON.parse(inject('secrets').JWT_SIGNING_KEYS!) as { keys: (JWK & { kid: string })[] }).keys[0]!;
    const key = await importJWK(jwk, 'RS256');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ sub: fx.user.id, token_use: 'access', username: fx.user.email, scope: 'openid', client_id: fx.confidentialClient.clientId })
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
      .setIssuer(baseUrl)
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(key);
    const res2 = await fetch(`${baseUrl}/oauth2/userInfo`, { headers: { Authorization: `Bearer ${expired}` } });
    expect(res2.status).toBe(401);
    expect(res2.headers.get('www-authenticate')).toContain('expired');
  });
});

describe('client credentials and client authentication (openid-client)', () => {
  it('issues an API access token to a confidential client', async () => {
    const tokens = await client.clientCredentialsGrant(confidential, { scope: 'api/read' });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`)), { issuer: baseUrl });
    expect(payload).toMatchObject({ sub: fx.confidentialClient.clientId, token_use: 'access', scope: 'api/read' });
  });

  it('refuses a wrong client secret, an unsupported grant and an invalid scope', async () => {
    const wrong = await client.discovery(new URL(baseUrl), fx.confidentialClient.clientId, undefined, client.ClientSecretBasic('not-the-secret'), insecure);
    // A 401 with a Basic challenge: openid-client surfaces it as a WWW-Authenticate challenge error.
    await expect(client.clientCredentialsGrant(wrong, { scope: 'api/read' })).rejects.toMatchObject({ status: 401, cause: [{ scheme: 'basic' }] });
    await expectOAuthError(client.clientCredentialsGrant(confidential, { scope: 'api/write' }), 'invalid_scope');
    const res = await fetch(`${baseUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: fx.user.email, password: fx.user.password, client_id: fx.publicClient.clientId }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });
});
