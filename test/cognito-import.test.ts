import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { applyGroupExport, parseCognitoExport } from '../workers/auth/cognito/import-format.ts';
import { importCognitoUsers } from '../workers/auth/cognito/import-users.ts';
import { call, fernet, latestCode, passwordSignIn, seedCognitoClient } from './cognito.test-fixture.ts';
import { db } from './support/auth-fixtures.ts';

const by = { actor: 'admin-cli' };
const uuid = () => crypto.randomUUID();

/** A user as `aws cognito-idp list-users` prints it. */
function listed(sub: string, email: string, extra: { Name: string; Value: string }[] = [], status = 'CONFIRMED') {
  return {
    Username: sub,
    Attributes: [{ Name: 'sub', Value: sub }, { Name: 'email', Value: email }, { Name: 'email_verified', Value: 'true' }, ...extra],
    UserCreateDate: '2024-01-02T03:04:05.000Z',
    Enabled: true,
    UserStatus: status,
  };
}

describe('Cognito export formats', () => {
  it('reads ListUsers JSON (object, array, JSON lines) with attributes and the Groups extension', () => {
    const a = uuid();
    const b = uuid();
    const doc = JSON.stringify({ Users: [{ ...listed(a, 'A@Example.com', [{ Name: 'custom:tenant', Value: 't1' }]), Groups: ['editors'] }] });
    const [entry] = parseCognitoExport(doc);
    expect(entry).toMatchObject({ sub: a, email: 'a@example.com', emailVerified: true, enabled: true, federated: false, attributes: { 'custom:tenant': 't1' }, groups: ['editors'] });
    expect(parseCognitoExport(JSON.stringify([listed(a, 'a@example.com'), listed(b, 'b@example.com')]))).toHaveLength(2);
    expect(parseCognitoExport(`${JSON.stringify({ Users: [listed(a, 'a@example.com')] })}\n${JSON.stringify({ Users: [listed(b, 'b@example.com')] })}\n`)).toHaveLength(2);
  });

  it('reads federated users with their identities', () => {
    const sub = uuid();
    const identities = JSON.stringify([{ userId: 'entra-oid-1', providerName: 'azuread', providerType: 'OIDC', issuer: null, primary: 'true', dateCreated: '1700000000000' }]);
    const [entry] = parseCognitoExport(JSON.stringify({ Users: [listed(sub, 'fed@example.com', [{ Name: 'identities', Value: identities }], 'EXTERNAL_PROVIDER')] }));
    expect(entry).toMatchObject({ federated: true, identities: [{ providerName: 'azuread', userId: 'entra-oid-1' }], attributes: {} });
  });

  it('reads Cognito CSV, with quoted fields, and list-users-in-group memberships', () => {
    const sub = uuid();
    const csv = `cognito:username,name,email,email_verified,sub,custom:note\r\n${sub},"Lovelace, Ada",ada@example.com,true,${sub},"say ""hi"""\r\n`;
    const entries = parseCognitoExport(csv);
    expect(entries).toEqual([expect.objectContaining({ sub, email: 'ada@example.com', emailVerified: true, attributes: { name: 'Lovelace, Ada', 'custom:note': 'say "hi"' } })]);
    expect(applyGroupExport(entries, 'admins', parseCognitoExport(JSON.stringify({ Users: [listed(sub, 'ada@example.com')] })))).toBe(1);
    expect(entries[0]?.groups).toEqual(['admins']);
    expect(() => parseCognitoExport('just,some,columns\n1,2,3')).toThrow(/no email/);
  });
});

describe('importCognitoUsers', () => {
  it('creates RESET_REQUIRED users with their sub, attributes and groups; a rerun updates or skips', async () => {
    const sub = uuid();
    const email = `imported-${sub.slice(0, 8)}@example.com`;
    const entries = parseCognitoExport(JSON.stringify({ Users: [{ ...listed(sub, email, [{ Name: 'name', Value: 'Ada' }]), Groups: ['imported'] }] }));
    expect(await importCognitoUsers(db(), entries, by)).toEqual([{ outcome: 'imported' }]);
    const row = await env.DB.prepare('SELECT id, username, status, password_hash, email_verified, attributes FROM users WHERE id = ?').bind(sub).first();
    expect(row).toEqual({ id: sub, username: email, status: 'RESET_REQUIRED', password_hash: null, email_verified: 1, attributes: '{"name":"Ada"}' });
    expect(await env.DB.prepare('SELECT group_name FROM user_groups WHERE user_id = ?').bind(sub).first('group_name')).toBe('imported');
    expect(await importCognitoUsers(db(), entries, by)).toEqual([{ outcome: 'skipped' }]);
    const changed = parseCognitoExport(JSON.stringify({ Users: [{ ...listed(sub, email, [{ Name: 'name', Value: 'Ada L.' }]), Groups: ['imported', 'more'] }] }));
    expect(await importCognitoUsers(db(), changed, by)).toEqual([{ outcome: 'updated' }]);
  });

  it('fails entries without a sub or email, conflicts, and duplicates, without stopping the others', async () => {
    const a = uuid();
    const taken = uuid();
    const emailA = `conflict-${a.slice(0, 8)}@example.com`;
    await importCognitoUsers(db(), parseCognitoExport(JSON.stringify([listed(taken, emailA)])), by);
    const entries = parseCognitoExport(JSON.stringify([listed(a, emailA), { Username: 'x', Attributes: [{ Name: 'email', Value: 'x@example.com' }] }, listed(uuid(), 'not-an-email'), listed(a, `ok-${a.slice(0, 8)}@example.com`), listed(a, `dup-${a.slice(0, 8)}@example.com`)]));
    const results = await importCognitoUsers(db(), entries, by);
    expect(results.map((r) => r.outcome)).toEqual(['failed', 'failed', 'failed', 'imported', 'failed']);
  });

  it('imports federated users as EXTERNAL_PROVIDER with their upstream links', async () => {
    const sub = uuid();
    const identities = JSON.stringify([{ userId: `oid-${sub}`, providerName: 'azuread', providerType: 'OIDC' }]);
    const entries = parseCognitoExport(JSON.stringify([listed(sub, `fed-${sub.slice(0, 8)}@example.com`, [{ Name: 'identities', Value: identities }], 'EXTERNAL_PROVIDER')]));
    expect(await importCognitoUsers(db(), entries, by)).toEqual([{ outcome: 'imported' }]);
    expect(await env.DB.prepare('SELECT status FROM users WHERE id = ?').bind(sub).first('status')).toBe('EXTERNAL_PROVIDER');
    expect(await env.DB.prepare('SELECT provider, subject FROM user_identities WHERE user_id = ?').bind(sub).first()).toEqual({ provider: 'azuread', subject: `oid-${sub}` });
  });

  it('leads an imported user through a reset to a sign-in that keeps the original sub', async () => {
    const { client } = await seedCognitoClient();
    const sub = uuid();
    const email = `reset-${sub.slice(0, 8)}@example.com`;
    await importCognitoUsers(db(), parseCognitoExport(JSON.stringify({ Users: [{ ...listed(sub, email), Groups: ['staff'] }] })), by);
    expect((await passwordSignIn(client.id, email, 'anything at all')).body.__type).toBe('PasswordResetRequiredException');
    await call('ForgotPassword', { ClientId: client.id, Username: email });
    expect((await call('ConfirmForgotPassword', { ClientId: client.id, Username: email, ConfirmationCode: await latestCode(email), Password: 'a new passphrase after import' })).body).toEqual({});
    // Claims come with `import moped`; here they are written directly.
    const claims = await fernet().encrypt(JSON.stringify({ 'x-hasura-allowed-roles': ['user'], 'x-hasura-default-role': 'user' }));
    await env.DB.prepare('INSERT INTO user_claims (user_id, ciphertext, updated_at) VALUES (?, ?, ?)').bind(sub, claims, Date.now()).run();
    const { result, body } = await passwordSignIn(client.id, email, 'a new passphrase after import');
    expect(body.__type).toBeUndefined();
    const payload = JSON.parse(atob(result!.IdToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
    expect(payload).toMatchObject({ sub, email, 'cognito:groups': ['staff'] });
  });
});
