import { env, exports } from 'cloudflare:workers';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { basic, pkcePair, seedClient, seedCode, seedUser, tokenRequest } from './support/auth-fixtures.ts';

const ISSUER = 'http://127.0.0.1:8787';
type Tokens = { access_token: string; id_token: string; refresh_token?: string; token_type: string; expires_in: number };

async function jwks() {
  const res = await exports.default.fetch('http://gatehouse.test/.well-known/jwks.json');
  return createLocalJWKSet((await res.json()) as { keys: [] });
}

async function exchange(clientId: string, secret: string | null, code: string, verifier?: string) {
  const form: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: 'https://app.example/callback' };
  if (verifier) form.code_verifier = verifier;
  if (!secret) form.client_id = clientId;
  return tokenRequest(form, secret ? { Authorization: basic(clientId, secret) } : {});
}

async function expectOAuthError(res: Response, status: number, error: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = (await res.json()) as { error: string; error_description: string };
  expect(body.error).toBe(error);
  expect(body.error_description.length).toBeGreaterThan(5);
  return body;
}

describe('discovery and JWKS', () => {
  it('lists the endpoints and supported values honestly', async () => {
    const res = await exports.default.fetch('http://gatehouse.test/.well-known/openid-configuration');
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(ISSUER);
    expect(doc.token_endpoint).toBe(`${ISSUER}/oauth2/token`);
    expect(doc.userinfo_endpoint).toBe(`${ISSUER}/oauth2/userInfo`);
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
    expect(doc.grant_types_supported).toEqual(['authorization_code', 'refresh_token', 'client_credentials']);
    expect(doc.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'none']);
    expect(doc.id_token_signing_alg_values_supported).toEqual(['RS256']);
  });

  it('publishes every signing key with kid, alg and use, cacheable', async () => {
    const res = await exports.default.fetch('http://gatehouse.test/.well-known/jwks.json');
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const { keys } = (await res.json()) as { keys: Record<string, string>[] };
    const configured = (JSON.parse(env.JWT_SIGNING_KEYS) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    expect(keys.map((k) => k.kid)).toEqual(configured);
    expect(keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(keys[0]).not.toHaveProperty('d');
  });
});

describe('authorization_code grant', () => {
  it('mints Cognito-shaped tokens with Hasura claims for a public client with PKCE', async () => {
    const { client } = await seedClient({ confidential: false });
    const user = await seedUser();
    const { verifier, challenge } = await pkcePair();
    const code = await seedCode({ clientId: client.id, userId: user.id, challenge, nonce: 'n-123' });
    const res = await exchange(client.id, null, code, verifier);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const tokens = (await res.json()) as Tokens;
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.expires_in).toBe(3600);
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const keys = await jwks();
    const { payload: id } = await jwtVerify(tokens.id_token, keys, { issuer: ISSUER, audience: client.id });
    expect(decodeProtectedHeader(tokens.id_token)).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    expect(id).toMatchObject({
      sub: user.id, token_use: 'id', nonce: 'n-123', email: user.email, email_verified: true,
      'cognito:username': user.username, 'cognito:groups': ['staff'],
    });
    expect(id.exp! - id.iat!).toBe(3600);
    const hasura = JSON.parse(id['https://hasura.io/jwt/claims'] as string);
    expect(hasura).toEqual({ 'x-hasura-user-id': user.id, 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user', 'editor'], 'x-hasura-user-db-id': '42' });
    const { payload: access } = await jwtVerify(tokens.access_token, keys, { issuer: ISSUER });
    expect(access).toMatchObject({ sub: user.id, client_id: client.id, token_use: 'access', scope: 'openid email profile', username: user.username, version: 2 });
    expect(access.origin_jti).toBe(id.origin_jti);
    expect(access.jti).not.toBe(id.jti);
  });

  it('refuses a wrong redirect_uri, a missing or wrong verifier, and another client', async () => {
    const { client } = await seedClient({ confidential: false });
    const other = await seedClient({ confidential: false });
    const user = await seedUser();
    const { verifier, challenge } = await pkcePair();
    const c1 = await seedCode({ clientId: client.id, userId: user.id, challenge });
    await expectOAuthError(await tokenRequest({ grant_type: 'authorization_code', code: c1, client_id: client.id, redirect_uri: 'https://app.example/other', code_verifier: verifier }), 400, 'invalid_grant');
    const c2 = await seedCode({ clientId: client.id, userId: user.id, challenge });
    await expectOAuthError(await exchange(client.id, null, c2), 400, 'invalid_grant');
    const c3 = await seedCode({ clientId: client.id, userId: user.id, challenge });
    await expectOAuthError(await exchange(client.id, null, c3, (await pkcePair()).verifier), 400, 'invalid_grant');
    const c4 = await seedCode({ clientId: client.id, userId: user.id, challenge });
    await expectOAuthError(await exchange(other.client.id, null, c4, verifier), 400, 'invalid_grant');
  });

  it('refuses an expired code', async () => {
    const { client, secret } = await seedClient();
    const user = await seedUser();
    const code = await seedCode({ clientId: client.id, userId: user.id }, Date.now() - 6 * 60_000);
    await expectOAuthError(await exchange(client.id, secret, code), 400, 'invalid_grant');
  });

  it('treats a replayed code as theft: refused, and the tokens it minted are revoked', async () => {
    const { client, secret } = await seedClient();
    const user = await seedUser();
    const code = await seedCode({ clientId: client.id, userId: user.id });
    const first = (await (await exchange(client.id, secret!, code)).json()) as Tokens;
    await expectOAuthError(await exchange(client.id, secret!, code), 400, 'invalid_grant');
    await expectOAuthError(await tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token! }, { Authorization: basic(client.id, secret!) }), 400, 'invalid_grant');
    const info = await exports.default.fetch('http://gatehouse.test/oauth2/userInfo', { headers: { Authorization: `Bearer ${first.access_token}` } });
    expect(info.status).toBe(401);
  });

  it('redeems a code exactly once under a parallel race', async () => {
    const { client, secret } = await seedClient();
    const user = await seedUser();
    const code = await seedCode({ clientId: client.id, userId: user.id });
    const results = await Promise.all(Array.from({ length: 5 }, () => exchange(client.id, secret!, code)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400, 400]);
  });

  it('fails sign-in clearly when the user has no roles at all', async () => {
    const { client, secret } = await seedClient();
    const user = await seedUser({ claims: undefined, groups: [] });
    const code = await seedCode({ clientId: client.id, userId: user.id });
    const body = await expectOAuthError(await exchange(client.id, secret!, code), 400, 'invalid_grant');
    expect(body.error_description).toMatch(/not set up/);
  });

  it('refuses disabled users', async () => {
    const { client, secret } = await seedClient();
    const user = await seedUser();
    await env.DB.prepare('UPDATE users SET enabled = 0 WHERE id = ?').bind(user.id).run();
    const code = await seedCode({ clientId: client.id, userId: user.id });
    await expectOAuthError(await exchange(client.id, secret!, code), 400, 'invalid_grant');
  });
});

describe('client authentication', () => {
  it('accepts client_secret_post and refuses a wrong secret with 401 and a Basic challenge', async () => {
    const { client, secret } = await seedClient();
    const ok = await tokenRequest({ grant_type: 'client_credentials', client_id: client.id, client_secret: secret! });
    expect(ok.status).toBe(200);
    const bad = await tokenRequest({ grant_type: 'client_credentials' }, { Authorization: basic(client.id, 'wrong') });
    await expectOAuthError(bad, 401, 'invalid_client');
    expect(bad.headers.get('www-authenticate')).toMatch(/^Basic /);
    await expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', client_id: client.id }), 401, 'invalid_client');
    await expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', client_id: 'nope', client_secret: 'x' }), 401, 'invalid_client');
  });

  it('refuses two methods at once, a non-form body, unknown and unauthorised grants', async () => {
    const { client, secret } = await seedClient({ grantTypes: ['authorization_code'] });
    await expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', client_secret: secret! }, { Authorization: basic(client.id, secret!) }), 400, 'invalid_request');
    const json = await exports.default.fetch('http://gatehouse.test/oauth2/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    await expectOAuthError(json, 400, 'invalid_request');
    await expectOAuthError(await tokenRequest({ grant_type: 'password', username: 'a', password: 'b' }), 400, 'unsupported_grant_type');
    await expectOAuthError(await tokenRequest({ grant_type: 'client_credentials' }, { Authorization: basic(client.id, secret!) }), 400, 'unauthorized_client');
  });
});

describe('client_credentials grant', () => {
  it('mints an access token with API scopes only', async () => {
    const { client, secret } = await seedClient();
    const res = await tokenRequest({ grant_type: 'client_credentials', scope: 'api/read' }, { Authorization: basic(client.id, secret!) });
    const tokens = (await res.json()) as Tokens;
    expect(tokens.id_token).toBeUndefined();
    expect(tokens.refresh_token).toBeUndefined();
    const { payload } = await jwtVerify(tokens.access_token, await jwks(), { issuer: ISSUER });
    expect(payload).toMatchObject({ sub: client.id, client_id: client.id, token_use: 'access', scope: 'api/read' });
  });

  it('refuses OIDC scopes, unknown scopes and public clients', async () => {
    const { client, secret } = await seedClient();
    await expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', scope: 'openid' }, { Authorization: basic(client.id, secret!) }), 400, 'invalid_scope');
    await expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', scope: 'api/write' }, { Authorization: basic(client.id, secret!) }), 400, 'invalid_scope');
    const pub = await seedClient({ confidential: false });
    await expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', client_id: pub.client.id }), 400, 'unauthorized_client');
  });
});

describe('refresh_token grant', () => {
  async function signIn(grace = 0) {
    const { client, secret } = await seedClient({ refreshGraceSeconds: grace });
    const user = await seedUser();
    const code = await seedCode({ clientId: client.id, userId: user.id });
    const tokens = (await (await exchange(client.id, secret!, code)).json()) as Tokens;
    const refresh = (token: string, extra: Record<string, string> = {}) =>
      tokenRequest({ grant_type: 'refresh_token', refresh_token: token, ...extra }, { Authorization: basic(client.id, secret!) });
    return { client, user, tokens, refresh };
  }

  it('rotates: each use returns a new refresh token and fresh tokens of the same sign-in', async () => {
    const { tokens, refresh, user } = await signIn();
    const res = await refresh(tokens.refresh_token!);
    expect(res.status).toBe(200);
    const next = (await res.json()) as Tokens;
    expect(next.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    const { payload } = await jwtVerify(next.id_token, await jwks(), { issuer: ISSUER });
    const { payload: old } = await jwtVerify(tokens.id_token, await jwks(), { issuer: ISSUER });
    expect(payload.sub).toBe(user.id);
    expect(payload.origin_jti).toBe(old.origin_jti);
    expect(payload.auth_time).toBe(old.auth_time);
    expect((await refresh(next.refresh_token!)).status).toBe(200);
  });

  it('revokes the whole family when a rotated token is reused outside the grace period', async () => {
    const { tokens, refresh } = await signIn(0);
    const next = (await (await refresh(tokens.refresh_token!)).json()) as Tokens;
    await expectOAuthError(await refresh(tokens.refresh_token!), 400, 'invalid_grant');
    await expectOAuthError(await refresh(next.refresh_token!), 400, 'invalid_grant');
  });

  it('lets a rotated token work again within the grace period', async () => {
    const { tokens, refresh } = await signIn(30);
    expect((await refresh(tokens.refresh_token!)).status).toBe(200);
    const retry = await refresh(tokens.refresh_token!);
    expect(retry.status).toBe(200);
    const again = (await retry.json()) as Tokens;
    expect((await refresh(again.refresh_token!)).status).toBe(200);
  });

  it('allows a narrower scope and refuses a wider one', async () => {
    const { tokens, refresh } = await signIn();
    const narrower = (await (await refresh(tokens.refresh_token!, { scope: 'openid' })).json()) as Tokens;
    const { payload } = await jwtVerify(narrower.access_token, await jwks(), { issuer: ISSUER });
    expect(payload.scope).toBe('openid');
    await expectOAuthError(await refresh(narrower.refresh_token!, { scope: 'openid api/read' }), 400, 'invalid_scope');
  });

  it('refuses another client\'s refresh token and garbage', async () => {
    const { tokens } = await signIn();
    const other = await seedClient();
    await expectOAuthError(await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, { Authorization: basic(other.client.id, other.secret!) }), 400, 'invalid_grant');
    await expectOAuthError(await tokenRequest({ grant_type: 'refresh_token', refresh_token: 'garbage' }, { Authorization: basic(other.client.id, other.secret!) }), 400, 'invalid_grant');
  });
});

describe('userinfo and revocation', () => {
  async function signedIn() {
    const { client, secret } = await seedClient();
    const user = await seedUser();
    const code = await seedCode({ clientId: client.id, userId: user.id });
    return { client, secret: secret!, user, tokens: (await (await exchange(client.id, secret!, code)).json()) as Tokens };
  }
  const userinfo = (token: string, method = 'GET') =>
    exports.default.fetch('http://gatehouse.test/oauth2/userInfo', { method, headers: { Authorization: `Bearer ${token}` } });

  it('answers the user\'s claims for a valid access token (GET and POST)', async () => {
    const { user, tokens } = await signedIn();
    for (const method of ['GET', 'POST']) {
      const res = await userinfo(tokens.access_token, method);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ sub: user.id, username: user.username, email: user.email, email_verified: 'true' });
    }
  });

  it('refuses tampered, ID, missing and malformed tokens with RFC 6750 challenges', async () => {
    const { tokens } = await signedIn();
    const [h, p, s] = tokens.access_token.split('.');
    const claims = JSON.parse(atob(p!.replace(/-/g, '+').replace(/_/g, '/')));
    const forged = btoa(JSON.stringify({ ...claims, sub: 'someone-else' })).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    const tampered = await userinfo(`${h}.${forged}.${s}`);
    expect(tampered.status).toBe(401);
    expect(tampered.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    expect((await userinfo(tokens.id_token)).status).toBe(401);
    const missing = await exports.default.fetch('http://gatehouse.test/oauth2/userInfo');
    expect(missing.status).toBe(401);
    const basicAuth = await exports.default.fetch('http://gatehouse.test/oauth2/userInfo', { headers: { Authorization: 'Basic abc' } });
    expect(basicAuth.status).toBe(400);
    expect(basicAuth.headers.get('www-authenticate')).toMatch(/error="invalid_request"/);
  });

  it('revokes a refresh token (RFC 7009): the family stops refreshing and its access token fails at userinfo', async () => {
    const { client, secret, tokens } = await signedIn();
    const res = await exports.default.fetch('http://gatehouse.test/oauth2/revoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(client.id, secret) },
      body: new URLSearchParams({ token: tokens.refresh_token!, token_type_hint: 'refresh_token' }).toString(),
    });
    expect(res.status).toBe(200);
    await expectOAuthError(await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, { Authorization: basic(client.id, secret) }), 400, 'invalid_grant');
    expect((await userinfo(tokens.access_token)).status).toBe(401);
  });

  it('answers 200 for unknown tokens and refuses unauthenticated revocation', async () => {
    const { client, secret } = await signedIn();
    const post = (body: Record<string, string>, auth?: string) =>
      exports.default.fetch('http://gatehouse.test/oauth2/revoke', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(auth ? { Authorization: auth } : {}) },
        body: new URLSearchParams(body).toString(),
      });
    expect((await post({ token: 'not-a-token' }, basic(client.id, secret))).status).toBe(200);
    await expectOAuthError(await post({ token: 'x' }, basic(client.id, 'wrong')), 401, 'invalid_client');
    await expectOAuthError(await post({}, basic(client.id, secret)), 400, 'invalid_request');
  });
});
