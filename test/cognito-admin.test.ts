import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, adminCall, call, latestCode, passwordSignIn, POOL_ID, rawCall, seedCognitoClient, seedCognitoUser, sigv4Headers } from './cognito.test-fixture.ts';
import { uniqueEmail } from './support/auth-fixtures.ts';

describe('admin operations need a valid SigV4 signature', () => {
  it('refuses no signature, an unknown key, a wrong secret, another region, a stale date and a changed body', async () => {
    const body = { UserPoolId: POOL_ID };
    const unsigned = await call('ListUsers', body);
    expect(unsigned.body.__type).toBe('MissingAuthenticationTokenException');
    expect((await adminCall('ListUsers', body, { key: { id: 'AKIDUNKNOWNKEY00001', secret: ADMIN_KEY.secret } })).body.__type).toBe('UnrecognizedClientException');
    expect((await adminCall('ListUsers', body, { key: { id: ADMIN_KEY.id, secret: 'not-the-secret-at-all' } })).body.__type).toBe('InvalidSignatureException');
    expect((await adminCall('ListUsers', body, { region: 'eu-west-1' })).body).toMatchObject({ __type: 'InvalidSignatureException', message: 'Credential should be scoped to a valid region.' });
    expect((await adminCall('ListUsers', body, { date: new Date(Date.now() - 6 * 60_000) })).body.message).toMatch(/Signature expired/);
    const text = JSON.stringify(body);
    const headers = await sigv4Headers({ target: 'ListUsers', body: text });
    const tampered = await rawCall('ListUsers', JSON.stringify({ UserPoolId: POOL_ID, Limit: 1 }), headers);
    expect(((await tampered.json()) as { __type: string }).__type).toBe('InvalidSignatureException');
    const retargeted = await rawCall('AdminDeleteUser', text, { ...headers, 'x-amz-target': 'AWSCognitoIdentityProviderService.AdminDeleteUser' });
    expect(((await retargeted.json()) as { __type: string }).__type).toBe('InvalidSignatureException');
    expect((await adminCall('ListUsers', body)).status).toBe(200);
  });

  it('refuses another user pool id', async () => {
    expect((await adminCall('AdminGetUser', { UserPoolId: 'eu-west-1_Other', Username: 'x@example.com' })).body).toEqual({ __type: 'ResourceNotFoundException', message: 'User pool eu-west-1_Other does not exist.' });
  });
});

describe('admin user operations', () => {
  it('creates a user with a temporary password (suppressed mail), who must then choose a password', async () => {
    const { client } = await seedCognitoClient();
    const email = uniqueEmail('admin');
    const created = await adminCall('AdminCreateUser', { UserPoolId: POOL_ID, Username: email, TemporaryPassword: 'Temporary pass 8842', MessageAction: 'SUPPRESS', UserAttributes: [{ Name: 'email', Value: email }, { Name: 'email_verified', Value: 'true' }, { Name: 'custom:tenant', Value: 't1' }] });
    expect(created.body.User).toMatchObject({ Username: email, Enabled: true, UserStatus: 'FORCE_CHANGE_PASSWORD', UserCreateDate: expect.any(Number) });
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM mail_outbox WHERE "to" = ?').bind(email).first('n')).toBe(0);
    expect((await adminCall('AdminCreateUser', { UserPoolId: POOL_ID, Username: email, MessageAction: 'SUPPRESS' })).body.__type).toBe('UsernameExistsException');
    expect((await passwordSignIn(client.id, email, 'Temporary pass 8842')).body.ChallengeName).toBe('NEW_PASSWORD_REQUIRED');
    const audit = await env.DB.prepare("SELECT actor FROM audit_log WHERE action = 'user.create' AND target = ?").bind((await env.DB.prepare('SELECT id FROM users WHERE username = ?').bind(email).first('id')) as string).first('actor');
    expect(audit).toBe(`sigv4:${ADMIN_KEY.id}`);
  });

  it('mails a generated temporary password unless suppressed', async () => {
    const { client } = await seedCognitoClient();
    const email = uniqueEmail('invited');
    expect((await adminCall('AdminCreateUser', { UserPoolId: POOL_ID, Username: email })).status).toBe(200);
    const mail = await env.DB.prepare('SELECT text FROM mail_outbox WHERE "to" = ?').bind(email).first<{ text: string }>();
    const temporary = /temporary password is (\S+)/.exec(mail?.text ?? '')?.[1] ?? '';
    expect((await passwordSignIn(client.id, email, temporary)).body.ChallengeName).toBe('NEW_PASSWORD_REQUIRED');
  });

  it('gets, updates, sets passwords, disables, enables and deletes', async () => {
    const { client } = await seedCognitoClient();
    const { user } = await seedCognitoUser();
    const got = await adminCall('AdminGetUser', { UserPoolId: POOL_ID, Username: user.email });
    expect(got.body).toMatchObject({ Username: user.username, UserStatus: 'CONFIRMED', Enabled: true, UserAttributes: expect.arrayContaining([{ Name: 'sub', Value: user.id }]) });
    expect((await adminCall('AdminGetUser', { UserPoolId: POOL_ID, Username: user.id })).body.Username).toBe(user.username);
    expect((await adminCall('AdminGetUser', { UserPoolId: POOL_ID, Username: uniqueEmail('none') })).body).toEqual({ __type: 'UserNotFoundException', message: 'User does not exist.' });

    const newEmail = uniqueEmail('renamed');
    expect((await adminCall('AdminUpdateUserAttributes', { UserPoolId: POOL_ID, Username: user.email, UserAttributes: [{ Name: 'email', Value: newEmail }, { Name: 'name', Value: 'Grace' }] })).body).toEqual({});
    const other = await seedCognitoUser();
    expect((await adminCall('AdminUpdateUserAttributes', { UserPoolId: POOL_ID, Username: newEmail, UserAttributes: [{ Name: 'email', Value: other.user.email }] })).body.__type).toBe('AliasExistsException');

    expect((await adminCall('AdminSetUserPassword', { UserPoolId: POOL_ID, Username: newEmail, Password: 'short', Permanent: true })).body.__type).toBe('InvalidPasswordException');
    expect((await adminCall('AdminSetUserPassword', { UserPoolId: POOL_ID, Username: newEmail, Password: 'set by the operator today', Permanent: true })).body).toEqual({});
    const signIn = await passwordSignIn(client.id, newEmail, 'set by the operator today');
    expect(signIn.status).toBe(200);

    expect((await adminCall('AdminDisableUser', { UserPoolId: POOL_ID, Username: newEmail })).body).toEqual({});
    expect((await passwordSignIn(client.id, newEmail, 'set by the operator today')).body.__type).toBe('NotAuthorizedException');
    expect((await call('InitiateAuth', { AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: client.id, AuthParameters: { REFRESH_TOKEN: signIn.result!.RefreshToken! } })).body.__type).toBe('NotAuthorizedException');
    expect((await adminCall('AdminEnableUser', { UserPoolId: POOL_ID, Username: newEmail })).body).toEqual({});
    expect((await passwordSignIn(client.id, newEmail, 'set by the operator today')).status).toBe(200);

    expect((await adminCall('AdminDeleteUser', { UserPoolId: POOL_ID, Username: newEmail })).body).toEqual({});
    expect((await adminCall('AdminGetUser', { UserPoolId: POOL_ID, Username: newEmail })).body.__type).toBe('UserNotFoundException');
    expect((await adminCall('AdminDeleteUser', { UserPoolId: POOL_ID, Username: newEmail })).body.__type).toBe('UserNotFoundException');
  });

  it('adds and removes groups (published as cognito:groups) and signs a user out globally', async () => {
    const { client } = await seedCognitoClient();
    const { user, password } = await seedCognitoUser();
    expect((await adminCall('AdminAddUserToGroup', { UserPoolId: POOL_ID, Username: user.email, GroupName: 'auditors' })).body).toEqual({});
    expect((await adminCall('AdminRemoveUserFromGroup', { UserPoolId: POOL_ID, Username: user.email, GroupName: 'staff' })).body).toEqual({});
    expect((await adminCall('AdminAddUserToGroup', { UserPoolId: POOL_ID, Username: user.email, GroupName: 'bad name' })).body.__type).toBe('InvalidParameterException');
    const { result } = await passwordSignIn(client.id, user.email, password);
    const payload = JSON.parse(atob(result!.IdToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
    expect(payload['cognito:groups']).toEqual(['auditors']);
    expect((await adminCall('AdminUserGlobalSignOut', { UserPoolId: POOL_ID, Username: user.email })).body).toEqual({});
    expect((await call('GetUser', { AccessToken: result!.AccessToken })).body.message).toBe('Access Token has been revoked');
  });
});

describe('ListUsers', () => {
  it('filters by email (exact and prefix) and status, and paginates', async () => {
    const tag = `lu${crypto.randomUUID().slice(0, 6)}`;
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await seedCognitoUser({ email: `${tag}-${i}@example.com` })).user);
    const exact = await adminCall('ListUsers', { UserPoolId: POOL_ID, Filter: `email = "${made[1]!.email}"` });
    expect((exact.body.Users as { Username: string }[]).map((u) => u.Username)).toEqual([made[1]!.username]);
    const page1 = await adminCall('ListUsers', { UserPoolId: POOL_ID, Filter: `email ^= "${tag}"`, Limit: 2, AttributesToGet: ['email'] });
    expect(page1.body.Users).toEqual([
      expect.objectContaining({ Username: made[0]!.username, Attributes: [{ Name: 'email', Value: made[0]!.email }], UserStatus: 'CONFIRMED', Enabled: true }),
      expect.objectContaining({ Username: made[1]!.username }),
    ]);
    const page2 = await adminCall('ListUsers', { UserPoolId: POOL_ID, Filter: `email ^= "${tag}"`, Limit: 2, PaginationToken: page1.body.PaginationToken });
    expect((page2.body.Users as { Username: string }[]).map((u) => u.Username)).toEqual([made[2]!.username]);
    expect(page2.body.PaginationToken).toBeUndefined();
    const bySub = await adminCall('ListUsers', { UserPoolId: POOL_ID, Filter: `sub = "${made[2]!.id}"` });
    expect((bySub.body.Users as unknown[]).length).toBe(1);
    const confirmed = await adminCall('ListUsers', { UserPoolId: POOL_ID, Filter: 'cognito:user_status = "CONFIRMED"', Limit: 1 });
    expect((confirmed.body.Users as unknown[]).length).toBe(1);
    expect((await adminCall('ListUsers', { UserPoolId: POOL_ID, Filter: 'custom:x = "y"' })).body.__type).toBe('InvalidParameterException');
    expect((await adminCall('ListUsers', { UserPoolId: POOL_ID, Filter: 'email = y' })).body.__type).toBe('InvalidParameterException');
    expect((await adminCall('ListUsers', { UserPoolId: POOL_ID, PaginationToken: '!!!' })).body.__type).toBe('InvalidParameterException');
  });
});

describe('admin-created users and the code flows', () => {
  it('a RESEND re-mails a fresh temporary password', async () => {
    const email = uniqueEmail('resend');
    await adminCall('AdminCreateUser', { UserPoolId: POOL_ID, Username: email, MessageAction: 'SUPPRESS' });
    expect((await adminCall('AdminCreateUser', { UserPoolId: POOL_ID, Username: email, MessageAction: 'RESEND' })).status).toBe(200);
    await expect(latestCode(email)).rejects.toThrow();
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM mail_outbox WHERE "to" = ?').bind(email).first('n')).toBe(1);
  });
});
