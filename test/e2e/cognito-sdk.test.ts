import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminGetUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminSetUserPasswordCommand,
  AdminUpdateUserAttributesCommand,
  AdminUserGlobalSignOutCommand,
  ConfirmSignUpCommand,
  GetUserCommand,
  GlobalSignOutCommand,
  InitiateAuthCommand,
  ListUsersCommand,
  NotAuthorizedException,
  RespondToAuthChallengeCommand,
  SignUpCommand,
  UserNotFoundException,
  UsernameExistsException,
} from '@aws-sdk/client-cognito-identity-provider';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../scripts/lib/local-server.ts';
import { hasuraClaims, mailboxCode, POOL_ID, sdk, startCognitoServer, verifyToken } from './cognito-harness.ts';

/**
 * The Cognito JSON API driven by the real @aws-sdk/client-cognito-identity-provider against a running Worker: sign-up
 * with the mailed code, USER_PASSWORD_AUTH, refresh, GetUser, global sign-out, SECRET_HASH, and the SigV4-signed admin
 * operations. Tokens are verified against the JWKS and their Hasura claims checked.
 */
let server: LocalServer;
let fx: { spa: string; web: { clientId: string; clientSecret: string }; editor: { id: string; email: string; password: string } };

beforeAll(async () => {
  const started = await startCognitoServer({
    seed: async (s) => {
      const spa = await s.client('e2e-cognito-spa', false);
      const web = await s.client('e2e-cognito-web', true);
      const editor = await s.user({
        email: 'cognito-editor@example.com',
        password: 'editor passphrase for e2e',
        status: 'CONFIRMED',
        emailVerified: true,
        groups: ['editors'],
        claims: { 'x-hasura-default-role': 'editor', 'x-hasura-allowed-roles': ['editor', 'viewer'], 'x-hasura-org-id': '17' },
      });
      return { spa: spa.clientId, web: { clientId: web.clientId, clientSecret: web.clientSecret ?? '' }, editor };
    },
  });
  server = started.server;
  fx = started.seeded;
});

afterAll(async () => {
  await server?.stop();
});

const secretHash = (username: string) => createHmac('sha256', fx.web.clientSecret).update(username + fx.web.clientId).digest('base64');

describe('@aws-sdk/client-cognito-identity-provider against Gatehouse', () => {
  it('signs up, confirms with the mailed code, signs in, refreshes, reads the user and signs out globally', async () => {
    const user = sdk(server);
    const admin = sdk(server, { admin: true });
    const email = `sdk-${Date.now()}@example.com`;
    const password = 'signed up through the sdk';
    const up = await user.send(new SignUpCommand({ ClientId: fx.spa, Username: email, Password: password, UserAttributes: [{ Name: 'email', Value: email }] }));
    expect(up.UserConfirmed).toBe(false);
    expect(up.CodeDeliveryDetails?.DeliveryMedium).toBe('EMAIL');
    await expect(user.send(new SignUpCommand({ ClientId: fx.spa, Username: email, Password: password }))).rejects.toBeInstanceOf(UsernameExistsException);
    await user.send(new ConfirmSignUpCommand({ ClientId: fx.spa, Username: email, ConfirmationCode: await mailboxCode(server, email) }));
    // A self-registered user has no roles until an operator gives them a group that maps to one (GROUP_ROLE_MAP).
    await admin.send(new AdminAddUserToGroupCommand({ UserPoolId: POOL_ID, Username: email, GroupName: 'viewers' }));

    const auth = await user.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: fx.spa, AuthParameters: { USERNAME: email, PASSWORD: password } }));
    const result = auth.AuthenticationResult!;
    expect(result.TokenType).toBe('Bearer');
    const id = await verifyToken(server, result.IdToken!);
    expect(id).toMatchObject({ sub: up.UserSub, email, 'cognito:username': email, 'cognito:groups': ['viewers'], token_use: 'id', aud: fx.spa });
    expect(hasuraClaims(id)).toEqual({ 'x-hasura-user-id': up.UserSub, 'x-hasura-default-role': 'viewer', 'x-hasura-allowed-roles': ['viewer'] });

    const refreshed = await user.send(new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: fx.spa, AuthParameters: { REFRESH_TOKEN: result.RefreshToken! } }));
    expect(refreshed.AuthenticationResult?.RefreshToken).toBeUndefined();
    expect((await verifyToken(server, refreshed.AuthenticationResult!.AccessToken!)).origin_jti).toBe(id.origin_jti);

    const me = await user.send(new GetUserCommand({ AccessToken: refreshed.AuthenticationResult!.AccessToken }));
    expect(me.Username).toBe(email);
    expect(me.UserAttributes).toEqual(expect.arrayContaining([{ Name: 'sub', Value: up.UserSub }, { Name: 'email_verified', Value: 'true' }]));

    await user.send(new GlobalSignOutCommand({ AccessToken: result.AccessToken }));
    await expect(user.send(new GetUserCommand({ AccessToken: result.AccessToken }))).rejects.toMatchObject({ name: 'NotAuthorizedException', message: 'Access Token has been revoked' });
    await expect(user.send(new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: fx.spa, AuthParameters: { REFRESH_TOKEN: result.RefreshToken! } }))).rejects.toBeInstanceOf(NotAuthorizedException);
  });

  it('checks SECRET_HASH for a client with a secret and gives stored Hasura claims', async () => {
    const user = sdk(server);
    const params = { USERNAME: fx.editor.email, PASSWORD: fx.editor.password };
    await expect(user.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: fx.web.clientId, AuthParameters: params }))).rejects.toMatchObject({ name: 'NotAuthorizedException', message: expect.stringMatching(/SECRET_HASH was not received/) });
    const ok = await user.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: fx.web.clientId, AuthParameters: { ...params, SECRET_HASH: secretHash(fx.editor.email) } }));
    const id = await verifyToken(server, ok.AuthenticationResult!.IdToken!);
    expect(hasuraClaims(id)).toEqual({ 'x-hasura-user-id': fx.editor.id, 'x-hasura-default-role': 'editor', 'x-hasura-allowed-roles': ['editor', 'viewer'], 'x-hasura-org-id': '17' });
    await expect(user.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: fx.spa, AuthParameters: { ...params, PASSWORD: 'wrong password here' } }))).rejects.toMatchObject({ name: 'NotAuthorizedException', message: 'Incorrect username or password.' });
  });

  it('runs the admin operations with the configured operator key', async () => {
    const admin = sdk(server, { admin: true });
    const user = sdk(server);
    const email = `admin-made-${Date.now()}@example.com`;
    const created = await admin.send(new AdminCreateUserCommand({ UserPoolId: POOL_ID, Username: email, TemporaryPassword: 'temporary passphrase 1', MessageAction: 'SUPPRESS', UserAttributes: [{ Name: 'email_verified', Value: 'true' }, { Name: 'name', Value: 'Ada' }] }));
    expect(created.User).toMatchObject({ Username: email, UserStatus: 'FORCE_CHANGE_PASSWORD', Enabled: true });
    expect(created.User?.UserCreateDate).toBeInstanceOf(Date);
    await admin.send(new AdminAddUserToGroupCommand({ UserPoolId: POOL_ID, Username: email, GroupName: 'editors' }));

    const challenge = await user.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: fx.spa, AuthParameters: { USERNAME: email, PASSWORD: 'temporary passphrase 1' } }));
    expect(challenge.ChallengeName).toBe('NEW_PASSWORD_REQUIRED');
    const done = await user.send(new RespondToAuthChallengeCommand({ ClientId: fx.spa, ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: challenge.Session, ChallengeResponses: { USERNAME: email, NEW_PASSWORD: 'my own passphrase now' } }));
    expect(hasuraClaims(await verifyToken(server, done.AuthenticationResult!.IdToken!))['x-hasura-allowed-roles']).toEqual(['editor']);

    const got = await admin.send(new AdminGetUserCommand({ UserPoolId: POOL_ID, Username: email }));
    expect(got).toMatchObject({ Username: email, UserStatus: 'CONFIRMED', Enabled: true });
    expect(got.UserAttributes).toEqual(expect.arrayContaining([{ Name: 'name', Value: 'Ada' }]));
    await admin.send(new AdminUpdateUserAttributesCommand({ UserPoolId: POOL_ID, Username: email, UserAttributes: [{ Name: 'custom:team', Value: 'blue' }] }));
    await admin.send(new AdminSetUserPasswordCommand({ UserPoolId: POOL_ID, Username: email, Password: 'operator chosen passphrase', Permanent: true }));
    await admin.send(new AdminRemoveUserFromGroupCommand({ UserPoolId: POOL_ID, Username: email, GroupName: 'editors' }));
    await admin.send(new AdminAddUserToGroupCommand({ UserPoolId: POOL_ID, Username: email, GroupName: 'viewers' }));

    const listed = await admin.send(new ListUsersCommand({ UserPoolId: POOL_ID, Filter: `email = "${email}"` }));
    expect(listed.Users?.map((u) => u.Username)).toEqual([email]);
    expect(listed.Users?.[0]?.Attributes).toEqual(expect.arrayContaining([{ Name: 'custom:team', Value: 'blue' }]));
    const firstPage = await admin.send(new ListUsersCommand({ UserPoolId: POOL_ID, Limit: 1 }));
    expect(firstPage.Users).toHaveLength(1);
    expect(firstPage.PaginationToken).toBeTruthy();
    const secondPage = await admin.send(new ListUsersCommand({ UserPoolId: POOL_ID, Limit: 1, PaginationToken: firstPage.PaginationToken }));
    expect(secondPage.Users?.[0]?.Username).not.toBe(firstPage.Users?.[0]?.Username);

    const signIn = await user.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: fx.spa, AuthParameters: { USERNAME: email, PASSWORD: 'operator chosen passphrase' } }));
    expect((await verifyToken(server, signIn.AuthenticationResult!.IdToken!))['cognito:groups']).toEqual(['viewers']);
    await admin.send(new AdminUserGlobalSignOutCommand({ UserPoolId: POOL_ID, Username: email }));
    await expect(user.send(new GetUserCommand({ AccessToken: signIn.AuthenticationResult!.AccessToken }))).rejects.toBeInstanceOf(NotAuthorizedException);
    await admin.send(new AdminDisableUserCommand({ UserPoolId: POOL_ID, Username: email }));
    await expect(user.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: fx.spa, AuthParameters: { USERNAME: email, PASSWORD: 'operator chosen passphrase' } }))).rejects.toBeInstanceOf(NotAuthorizedException);
    await admin.send(new AdminEnableUserCommand({ UserPoolId: POOL_ID, Username: email }));
    await admin.send(new AdminDeleteUserCommand({ UserPoolId: POOL_ID, Username: email }));
    await expect(admin.send(new AdminGetUserCommand({ UserPoolId: POOL_ID, Username: email }))).rejects.toBeInstanceOf(UserNotFoundException);
  });

  it('refuses admin operations signed with an unknown key, a wrong secret or another region', async () => {
    const input = { UserPoolId: POOL_ID, Username: fx.editor.email };
    await expect(sdk(server).send(new AdminGetUserCommand(input))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
    const wrongSecret = sdk(server, { credentials: { accessKeyId: 'AKIDGATEHOUSEE2E0001', secretAccessKey: 'definitely-the-wrong-secret' } });
    await expect(wrongSecret.send(new AdminGetUserCommand(input))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
    await expect(sdk(server, { admin: true, region: 'eu-west-1' }).send(new AdminGetUserCommand(input))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
    expect((await sdk(server, { admin: true }).send(new AdminGetUserCommand(input))).Username).toBe(fx.editor.email);
  });
});
