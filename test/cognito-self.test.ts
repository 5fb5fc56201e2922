import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, hashFor, latestCode, passwordSignIn, seedCognitoClient, seedCognitoUser } from './cognito.test-fixture.ts';
import { pkcePair, seedCode, tokenRequest, uniqueEmail } from './support/auth-fixtures.ts';

const PASSWORD = 'a perfectly fine passphrase';

describe('SignUp, ConfirmSignUp, ResendConfirmationCode', () => {
  it('registers an unconfirmed user, mails a code, and confirms with it', async () => {
    const { client } = await seedCognitoClient();
    const email = uniqueEmail('signup');
    const up = await call('SignUp', { ClientId: client.id, Username: email, Password: PASSWORD, UserAttributes: [{ Name: 'email', Value: email }, { Name: 'name', Value: 'Ada' }] });
    expect(up.body).toMatchObject({ UserConfirmed: false, UserSub: expect.stringMatching(/^[0-9a-f-]{36}$/), CodeDeliveryDetails: { DeliveryMedium: 'EMAIL', AttributeName: 'email', Destination: expect.stringMatching(/^s\*\*\*@e\*\*\*$/) } });
    expect((await passwordSignIn(client.id, email, PASSWORD)).body.__type).toBe('UserNotConfirmedException');
    expect((await call('SignUp', { ClientId: client.id, Username: email, Password: PASSWORD })).body).toEqual({ __type: 'UsernameExistsException', message: 'User already exists' });
    expect((await call('ResendConfirmationCode', { ClientId: client.id, Username: email })).body).toMatchObject({ CodeDeliveryDetails: { DeliveryMedium: 'EMAIL' } });
    const code = await latestCode(email);
    expect((await call('ConfirmSignUp', { ClientId: client.id, Username: email, ConfirmationCode: code === '000000' ? '111111' : '000000' })).body.__type).toBe('CodeMismatchException');
    expect((await call('ConfirmSignUp', { ClientId: client.id, Username: email, ConfirmationCode: code })).body).toEqual({});
    expect((await call('ConfirmSignUp', { ClientId: client.id, Username: email, ConfirmationCode: code })).body).toMatchObject({ __type: 'NotAuthorizedException', message: 'User cannot be confirmed. Current status is CONFIRMED' });
    const row = await env.DB.prepare('SELECT status, email_verified, attributes FROM users WHERE id = ?').bind(up.body.UserSub).first();
    expect(row).toEqual({ status: 'CONFIRMED', email_verified: 1, attributes: '{"name":"Ada"}' });
  });

  it('refuses a weak password, a non-email username, a missing SECRET_HASH, and reads like a wrong code for unknown users', async () => {
    const { client } = await seedCognitoClient();
    expect((await call('SignUp', { ClientId: client.id, Username: uniqueEmail(), Password: 'password1' })).body.__type).toBe('InvalidPasswordException');
    expect((await call('SignUp', { ClientId: client.id, Username: 'not-an-email', Password: PASSWORD })).body).toEqual({ __type: 'InvalidParameterException', message: 'Username should be an email.' });
    const conf = await seedCognitoClient({ confidential: true });
    expect((await call('SignUp', { ClientId: conf.client.id, Username: uniqueEmail(), Password: PASSWORD })).body.__type).toBe('NotAuthorizedException');
    const email = uniqueEmail();
    const ok = await call('SignUp', { ClientId: conf.client.id, Username: email, Password: PASSWORD, SecretHash: await hashFor(conf.secret!, email, conf.client.id) });
    expect(ok.body.UserConfirmed).toBe(false);
    expect((await call('ConfirmSignUp', { ClientId: client.id, Username: uniqueEmail('ghost'), ConfirmationCode: '123456' })).body.__type).toBe('CodeMismatchException');
  });
});

describe('ForgotPassword, ConfirmForgotPassword, ChangePassword', () => {
  it('resets with a mailed code, signing the user out everywhere', async () => {
    const { client } = await seedCognitoClient();
    const { user, password } = await seedCognitoUser();
    const before = await passwordSignIn(client.id, user.email, password);
    expect((await call('ForgotPassword', { ClientId: client.id, Username: user.email })).body).toMatchObject({ CodeDeliveryDetails: { DeliveryMedium: 'EMAIL' } });
    expect((await call('ForgotPassword', { ClientId: client.id, Username: uniqueEmail('ghost') })).body).toMatchObject({ CodeDeliveryDetails: { DeliveryMedium: 'EMAIL' } });
    const code = await latestCode(user.email);
    expect((await call('ConfirmForgotPassword', { ClientId: client.id, Username: user.email, ConfirmationCode: code, Password: 'short' })).body.__type).toBe('InvalidPasswordException');
    expect((await call('ConfirmForgotPassword', { ClientId: client.id, Username: user.email, ConfirmationCode: code, Password: PASSWORD })).body).toEqual({});
    expect((await call('GetUser', { AccessToken: before.result!.AccessToken })).body).toEqual({ __type: 'NotAuthorizedException', message: 'Access Token has been revoked' });
    expect((await passwordSignIn(client.id, user.email, PASSWORD)).status).toBe(200);
    expect((await call('ConfirmForgotPassword', { ClientId: client.id, Username: user.email, ConfirmationCode: code, Password: PASSWORD })).body.__type).toBe('CodeMismatchException');
  });

  it('changes the password with the previous one and an access token', async () => {
    const { client } = await seedCognitoClient();
    const { user, password } = await seedCognitoUser();
    const { result } = await passwordSignIn(client.id, user.email, password);
    expect((await call('ChangePassword', { AccessToken: result!.AccessToken, PreviousPassword: 'wrong guess here', ProposedPassword: PASSWORD })).body.__type).toBe('NotAuthorizedException');
    expect((await call('ChangePassword', { AccessToken: result!.AccessToken, PreviousPassword: password, ProposedPassword: PASSWORD })).body).toEqual({});
    expect((await passwordSignIn(client.id, user.email, password)).status).toBe(400);
    expect((await passwordSignIn(client.id, user.email, PASSWORD)).status).toBe(200);
  });
});

describe('GetUser, UpdateUserAttributes, GlobalSignOut, RevokeToken', () => {
  it('reads and updates the signed-in user\'s attributes', async () => {
    const { client } = await seedCognitoClient();
    const { user, password } = await seedCognitoUser({ attributes: { 'custom:team': 'blue' } });
    const { result } = await passwordSignIn(client.id, user.email, password);
    const got = await call('GetUser', { AccessToken: result!.AccessToken });
    expect(got.body).toMatchObject({ Username: user.username, UserAttributes: [{ Name: 'sub', Value: user.id }, { Name: 'email', Value: user.email }, { Name: 'email_verified', Value: 'true' }, { Name: 'custom:team', Value: 'blue' }] });
    expect((await call('UpdateUserAttributes', { AccessToken: result!.AccessToken, UserAttributes: [{ Name: 'name', Value: 'Ada' }, { Name: 'custom:team', Value: '' }] })).body).toEqual({ CodeDeliveryDetailsList: [] });
    expect((await call('GetUser', { AccessToken: result!.AccessToken })).body.UserAttributes).toEqual([
      { Name: 'sub', Value: user.id }, { Name: 'email', Value: user.email }, { Name: 'email_verified', Value: 'true' }, { Name: 'name', Value: 'Ada' },
    ]);
    for (const bad of [{ Name: 'sub', Value: 'x' }, { Name: 'email', Value: 'other@example.com' }, { Name: 'favourite_colour', Value: 'red' }]) {
      expect((await call('UpdateUserAttributes', { AccessToken: result!.AccessToken, UserAttributes: [bad] })).body.__type).toBe('InvalidParameterException');
    }
  });

  it('refuses ID tokens, garbage, and tokens without the Cognito scope', async () => {
    const { client } = await seedCognitoClient();
    const { user, password } = await seedCognitoUser();
    const { result } = await passwordSignIn(client.id, user.email, password);
    expect((await call('GetUser', { AccessToken: result!.IdToken })).body).toEqual({ __type: 'NotAuthorizedException', message: 'Invalid Access Token' });
    expect((await call('GetUser', { AccessToken: 'garbage' })).body).toEqual({ __type: 'NotAuthorizedException', message: 'Invalid Access Token' });
    const { verifier, challenge } = await pkcePair();
    const code = await seedCode({ clientId: client.id, userId: user.id, challenge });
    const hosted = await tokenRequest({ grant_type: 'authorization_code', code, client_id: client.id, redirect_uri: 'https://app.example/callback', code_verifier: verifier });
    const { access_token } = (await hosted.json()) as { access_token: string };
    expect((await call('GetUser', { AccessToken: access_token })).body).toEqual({ __type: 'NotAuthorizedException', message: 'Access Token does not have required scopes' });
  });

  it('signs out globally: access tokens and refresh tokens of every sign-in stop working', async () => {
    const { client } = await seedCognitoClient();
    const { user, password } = await seedCognitoUser();
    const a = await passwordSignIn(client.id, user.email, password);
    const b = await passwordSignIn(client.id, user.email, password);
    expect((await call('GlobalSignOut', { AccessToken: a.result!.AccessToken })).body).toEqual({});
    for (const t of [a, b]) expect((await call('GetUser', { AccessToken: t.result!.AccessToken })).body.message).toBe('Access Token has been revoked');
    expect((await call('InitiateAuth', { AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: client.id, AuthParameters: { REFRESH_TOKEN: b.result!.RefreshToken! } })).body.__type).toBe('NotAuthorizedException');
  });

  it('revokes one refresh token family with RevokeToken', async () => {
    const { client, secret } = await seedCognitoClient({ confidential: true });
    const { user, password } = await seedCognitoUser();
    const { result } = await passwordSignIn(client.id, user.email, password, { SECRET_HASH: await hashFor(secret!, user.email, client.id) });
    expect((await call('RevokeToken', { ClientId: client.id, Token: result!.RefreshToken })).body.__type).toBe('NotAuthorizedException');
    expect((await call('RevokeToken', { ClientId: client.id, ClientSecret: secret, Token: result!.AccessToken })).body.__type).toBe('UnsupportedTokenTypeException');
    expect((await call('RevokeToken', { ClientId: client.id, ClientSecret: secret, Token: result!.RefreshToken })).body).toEqual({});
    expect((await call('GetUser', { AccessToken: result!.AccessToken })).body.message).toBe('Access Token has been revoked');
    expect((await call('RevokeToken', { ClientId: client.id, ClientSecret: secret, Token: 'unknown-token' })).body).toEqual({});
  });
});
