import { env, exports } from 'cloudflare:workers';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { call, hashFor, passwordSignIn, seedCognitoClient, seedCognitoUser } from './cognito.test-fixture.ts';

const ISSUER = 'http://127.0.0.1:8787';

async function verify(token: string) {
  const res = await exports.default.fetch('http://gatehouse.test/.well-known/jwks.json');
  return (await jwtVerify(token, createLocalJWKSet((await res.json()) as { keys: [] }), { issuer: ISSUER })).payload;
}

describe('InitiateAuth USER_PASSWORD_AUTH', () => {
  it('returns Cognito-shaped tokens with the same Hasura claims as the hosted flow', async () => {
    const { client } = await seedCognitoClient();
    const { user, password } = await seedCognitoUser();
    const { status, body, result } = await passwordSignIn(client.id, user.email.toUpperCase(), password);
    expect(status).toBe(200);
    expect(body.ChallengeParameters).toEqual({});
    expect(result).toMatchObject({ TokenType: 'Bearer', ExpiresIn: 3600, RefreshToken: expect.stringMatching(/^[\w-]{43}$/) });
    const id = await verify(result!.IdToken);
    expect(id).toMatchObject({ sub: user.id, aud: client.id, token_use: 'id', email: user.email, 'cognito:username': user.username, 'cognito:groups': ['staff'] });
    expect(JSON.parse(id['https://hasura.io/jwt/claims'] as string)).toEqual({
      'x-hasura-user-id': user.id, 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user', 'editor'], 'x-hasura-user-db-id': '42',
    });
    const access = await verify(result!.AccessToken);
    expect(access).toMatchObject({ sub: user.id, client_id: client.id, token_use: 'access', scope: 'aws.cognito.signin.user.admin', username: user.username });
    expect(access.origin_jti).toBe(id.origin_jti);
  });

  it('fails wrong passwords and unknown users with the same NotAuthorizedException', async () => {
    const { client } = await seedCognitoClient();
    const { user } = await seedCognitoUser();
    const wrong = await passwordSignIn(client.id, user.email, 'not the password at all');
    const unknown = await passwordSignIn(client.id, 'nobody-here@example.com', 'whatever password');
    for (const r of [wrong, unknown]) expect(r.body).toEqual({ __type: 'NotAuthorizedException', message: 'Incorrect username or password.' });
  });

  it('reports unconfirmed, reset-required and users without roles as Cognito does', async () => {
    const { client } = await seedCognitoClient();
    const unconfirmed = await seedCognitoUser({ status: 'UNCONFIRMED' });
    expect((await passwordSignIn(client.id, unconfirmed.user.email, unconfirmed.password)).body).toMatchObject({ __type: 'UserNotConfirmedException' });
    const imported = await seedCognitoUser({ status: 'RESET_REQUIRED', password: undefined });
    expect((await passwordSignIn(client.id, imported.user.email, 'anything at all')).body).toMatchObject({ __type: 'PasswordResetRequiredException' });
    const roleless = await seedCognitoUser({ claims: undefined, groups: [] });
    const none = await passwordSignIn(client.id, roleless.user.email, roleless.password);
    expect(none.body).toMatchObject({ __type: 'NotAuthorizedException', message: expect.stringMatching(/not set up/) });
  });

  it('answers FORCE_CHANGE_PASSWORD with NEW_PASSWORD_REQUIRED, once, then signs in with the new password', async () => {
    const { client } = await seedCognitoClient();
    const { user, password } = await seedCognitoUser({ status: 'FORCE_CHANGE_PASSWORD', password: 'temporary Pass 9931' });
    const first = await passwordSignIn(client.id, user.email, password);
    expect(first.body).toMatchObject({ ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: expect.any(String) });
    const params = first.body.ChallengeParameters as Record<string, string>;
    expect(params.USER_ID_FOR_SRP).toBe(user.username);
    expect(JSON.parse(params.userAttributes ?? '{}')).toMatchObject({ email: user.email });
    const respond = (newPassword: string) =>
      call('RespondToAuthChallenge', { ClientId: client.id, ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: first.body.Session, ChallengeResponses: { USERNAME: user.email, NEW_PASSWORD: newPassword, 'userAttributes.name': 'Ada' } });
    expect((await respond('short')).body).toMatchObject({ __type: 'InvalidPasswordException' });
    const ok = await respond('a brand new long passphrase');
    expect(ok.body.AuthenticationResult).toMatchObject({ TokenType: 'Bearer' });
    expect((await respond('another brand new passphrase')).body).toMatchObject({ __type: 'NotAuthorizedException' });
    expect((await passwordSignIn(client.id, user.email, 'a brand new long passphrase')).result?.IdToken).toBeTruthy();
    const row = await env.DB.prepare('SELECT status, attributes FROM users WHERE id = ?').bind(user.id).first<{ status: string; attributes: string }>();
    expect(row).toEqual({ status: 'CONFIRMED', attributes: '{"name":"Ada"}' });
  });

  it('locks an account out after too many wrong passwords', async () => {
    const { client } = await seedCognitoClient();
    const { user, password } = await seedCognitoUser();
    for (let i = 0; i < 5; i++) await passwordSignIn(client.id, user.email, `wrong password ${i}`, {});
    expect((await passwordSignIn(client.id, user.email, password)).body.__type).toBe('NotAuthorizedException');
  });
});

describe('SECRET_HASH', () => {
  it('is required and checked for a client with a secret', async () => {
    const { client, secret } = await seedCognitoClient({ confidential: true });
    const { user, password } = await seedCognitoUser();
    const missing = await passwordSignIn(client.id, user.email, password);
    expect(missing.body).toEqual({ __type: 'NotAuthorizedException', message: `Client ${client.id} is configured with secret but SECRET_HASH was not received` });
    const wrong = await passwordSignIn(client.id, user.email, password, { SECRET_HASH: await hashFor('not-the-secret', user.email, client.id) });
    expect(wrong.body).toEqual({ __type: 'NotAuthorizedException', message: `Unable to verify secret hash for client ${client.id}` });
    const otherUser = await passwordSignIn(client.id, user.email, password, { SECRET_HASH: await hashFor(secret!, 'someone@example.com', client.id) });
    expect(otherUser.body.__type).toBe('NotAuthorizedException');
    const ok = await passwordSignIn(client.id, user.email, password, { SECRET_HASH: await hashFor(secret!, user.email, client.id) });
    expect(ok.result?.AccessToken).toBeTruthy();
  });

  it('fails closed when the client secret was never stored for SECRET_HASH checks', async () => {
    const { client, secret } = await seedCognitoClient({ confidential: true, storeSecret: false });
    const { user, password } = await seedCognitoUser();
    const res = await passwordSignIn(client.id, user.email, password, { SECRET_HASH: await hashFor(secret!, user.email, client.id) });
    expect(res.body).toEqual({ __type: 'NotAuthorizedException', message: `Unable to verify secret hash for client ${client.id}` });
  });
});

describe('InitiateAuth REFRESH_TOKEN_AUTH', () => {
  it('mints new ID and access tokens in the same family without rotating the refresh token', async () => {
    const { client, secret } = await seedCognitoClient({ confidential: true });
    const { user, password } = await seedCognitoUser();
    const signIn = await passwordSignIn(client.id, user.email, password, { SECRET_HASH: await hashFor(secret!, user.email, client.id) });
    const refreshToken = signIn.result!.RefreshToken!;
    for (const flow of ['REFRESH_TOKEN_AUTH', 'REFRESH_TOKEN', 'REFRESH_TOKEN_AUTH']) {
      const { body } = await call('InitiateAuth', { AuthFlow: flow, ClientId: client.id, AuthParameters: { REFRESH_TOKEN: refreshToken, SECRET_HASH: await hashFor(secret!, user.id, client.id) } });
      const result = body.AuthenticationResult as Record<string, string>;
      expect(result.RefreshToken).toBeUndefined();
      const id = await verify(result.IdToken!);
      expect(id.origin_jti).toBe((await verify(signIn.result!.IdToken)).origin_jti);
      expect(JSON.parse(id['https://hasura.io/jwt/claims'] as string)['x-hasura-user-id']).toBe(user.id);
    }
  });

  it('refuses an unknown token, another client\'s token, and a token of a signed-out user', async () => {
    const { client } = await seedCognitoClient();
    const other = await seedCognitoClient();
    const { user, password } = await seedCognitoUser();
    const { result } = await passwordSignIn(client.id, user.email, password);
    const refresh = (clientId: string, token: string) => call('InitiateAuth', { AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: clientId, AuthParameters: { REFRESH_TOKEN: token } });
    expect((await refresh(client.id, 'nope')).body).toEqual({ __type: 'NotAuthorizedException', message: 'Invalid Refresh Token' });
    expect((await refresh(other.client.id, result!.RefreshToken!)).body.__type).toBe('NotAuthorizedException');
    expect((await call('GlobalSignOut', { AccessToken: result!.AccessToken })).status).toBe(200);
    expect((await refresh(client.id, result!.RefreshToken!)).body).toMatchObject({ __type: 'NotAuthorizedException' });
  });
});
