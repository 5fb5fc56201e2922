import { AdminGetUserCommand, InitiateAuthCommand, ListUsersCommand, NotAuthorizedException, PasswordResetRequiredException, UserNotFoundException } from '@aws-sdk/client-cognito-identity-provider';
import { AuthenticationDetails, CognitoUser, CognitoUserPool } from 'amazon-cognito-identity-js';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../scripts/lib/local-server.ts';
import { hasuraClaims, POOL_ID, sdk, startCognitoServer, verifyToken } from './cognito-harness.ts';
import { ROOT } from './fixtures.ts';

/**
 * Moving a live pool: a second real Worker stands in for the old Cognito pool. Its users are exported with ListUsers (the
 * AWS SDK), imported into the new Worker with `npm run admin -- import cognito` (RESET_REQUIRED, original sub, groups), and
 * lazy migration checks first sign-ins against the old pool's InitiateAuth, with the old client's SECRET_HASH.
 */
type OldUser = { id: string; email: string; password: string };
let oldPool: LocalServer;
let newPool: LocalServer;
let old: { clientId: string; clientSecret: string; alice: OldUser; bob: OldUser; carol: OldUser; dave: OldUser };
let spa: string;
const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-cognito-migration-'));

function runAdmin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['scripts/admin.ts', ...args], { cwd: ROOT, env: { ...process.env, CLAIMS_FERNET_KEYS: '' }, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

let importReport: { imported: number; failed: number } | undefined;

beforeAll(async () => {
  const startedOld = await startCognitoServer({
    seed: async (s) => {
      const { clientId, clientSecret } = await s.client('oldpoolweb', true);
      const user = (name: string, groups: string[]) =>
        s.user({ email: `${name}@old.example.com`, password: `${name} old pool passphrase`, status: 'CONFIRMED', emailVerified: true, groups, attributes: { name } });
      return { clientId, clientSecret: clientSecret ?? '', alice: await user('alice', ['editors']), bob: await user('bob', ['viewers']), carol: await user('carol', ['viewers']), dave: await user('dave', ['viewers']) };
    },
  });
  oldPool = startedOld.server;
  old = startedOld.seeded;

  // The export an operator takes from the old pool: all users, and the members of one group.
  const listed = await sdk(oldPool, { admin: true }).send(new ListUsersCommand({ UserPoolId: POOL_ID }));
  const alice = listed.Users?.find((u) => u.Username === old.alice.email);
  writeFileSync(path.join(dir, 'users.json'), JSON.stringify({ Users: listed.Users?.filter((u) => u.Username === old.alice.email || u.Username === old.carol.email) }));
  writeFileSync(path.join(dir, 'editors.json'), JSON.stringify({ Users: [alice] }));

  const startedNew = await startCognitoServer({
    vars: { LAZY_MIGRATION_COGNITO_ENDPOINT: `${oldPool.url}/`, LAZY_MIGRATION_CLIENT_ID: old.clientId, LAZY_MIGRATION_CLIENT_SECRET: old.clientSecret },
    seed: async (s) => (await s.client('newpoolspa', false)).clientId,
    afterSeed: async (ctx) => {
      const run = await runAdmin(['import', 'cognito', path.join(dir, 'users.json'), '--groups', `editors=${path.join(dir, 'editors.json')}`, '--persist-to', ctx.stateDir, '--dev-vars', ctx.devVarsPath, '--config', ctx.configPath, '--json']);
      if (run.code !== 0) throw new Error(`import failed (${run.code}): ${run.stderr}`);
      importReport = JSON.parse(run.stdout) as { imported: number; failed: number };
    },
  });
  newPool = startedNew.server;
  spa = startedNew.seeded;
});

afterAll(async () => {
  await newPool?.stop();
  await oldPool?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const signIn = (email: string, password: string) =>
  sdk(newPool).send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: spa, AuthParameters: { USERNAME: email, PASSWORD: password } }));

describe('moving a Cognito pool: import, then lazy migration', () => {
  it('imported the exported users as RESET_REQUIRED with their original sub', async () => {
    expect(importReport).toMatchObject({ imported: 2, failed: 0 });
    const carol = await sdk(newPool, { admin: true }).send(new AdminGetUserCommand({ UserPoolId: POOL_ID, Username: old.carol.email }));
    expect(carol).toMatchObject({ UserStatus: 'RESET_REQUIRED' });
    expect(carol.UserAttributes).toEqual(expect.arrayContaining([{ Name: 'sub', Value: old.carol.id }, { Name: 'name', Value: 'carol' }]));
  });

  it('completes an imported user at first sign-in with the old password, keeping sub and groups', async () => {
    const auth = await signIn(old.alice.email, old.alice.password);
    const id = await verifyToken(newPool, auth.AuthenticationResult!.IdToken!);
    expect(id).toMatchObject({ sub: old.alice.id, 'cognito:groups': ['editors'], iss: newPool.url });
    expect(hasuraClaims(id)).toMatchObject({ 'x-hasura-user-id': old.alice.id, 'x-hasura-allowed-roles': ['editor'] });
  });

  it('creates a user the import did not know, from the old pool (sub, attributes, groups)', async () => {
    const auth = await signIn(old.bob.email, old.bob.password);
    const id = await verifyToken(newPool, auth.AuthenticationResult!.IdToken!);
    expect(id).toMatchObject({ sub: old.bob.id, email: old.bob.email, 'cognito:groups': ['viewers'] });
    const got = await sdk(newPool, { admin: true }).send(new AdminGetUserCommand({ UserPoolId: POOL_ID, Username: old.bob.email }));
    expect(got.UserAttributes).toEqual(expect.arrayContaining([{ Name: 'name', Value: 'bob' }]));
    // The verifier stored at migration lets Amplify's default SRP sign-in work from now on.
    const pool = new CognitoUserPool({ UserPoolId: POOL_ID, ClientId: spa, endpoint: `${newPool.url}/` });
    const user = new CognitoUser({ Username: old.bob.email, Pool: pool });
    const sub = await new Promise<string>((resolve, reject) =>
      user.authenticateUser(new AuthenticationDetails({ Username: old.bob.email, Password: old.bob.password }), {
        onSuccess: (session) => resolve(String(session.getIdToken().decodePayload().sub)),
        onFailure: reject,
      }),
    );
    expect(sub).toBe(old.bob.id);
  });

  it('refuses a wrong password without creating anyone', async () => {
    await expect(signIn(old.dave.email, 'not what the old pool holds')).rejects.toBeInstanceOf(NotAuthorizedException);
    await expect(sdk(newPool, { admin: true }).send(new AdminGetUserCommand({ UserPoolId: POOL_ID, Username: old.dave.email }))).rejects.toBeInstanceOf(UserNotFoundException);
  });

  it('keeps migrated users working when the old pool is gone, and fails the others closed', async () => {
    await oldPool.stop();
    expect((await signIn(old.alice.email, old.alice.password)).AuthenticationResult?.AccessToken).toBeTruthy();
    await expect(signIn(old.dave.email, old.dave.password)).rejects.toBeInstanceOf(NotAuthorizedException);
    await expect(signIn(old.carol.email, old.carol.password)).rejects.toBeInstanceOf(PasswordResetRequiredException);
  });
});
