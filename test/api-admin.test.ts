import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createMultiFernet } from '../lib/fernet.ts';
import { auditLog, refreshTokens, userClaims, userIdentities, users } from '../schema/index.ts';
import { basic, db, tokenRequest, uniqueEmail } from './support/auth-fixtures.ts';
import { call, callWith, expectBearerError, expectProblem, json, signIn, signInAdmin } from './gateway.test-fixture.ts';

type AdminUser = { id: string; email: string; status: string; enabled: boolean; roles: string[] | null; defaultRole: string | null; groups: string[] };

const claimsOf = async (userId: string) => {
  const row = await db().query.userClaims.findFirst({ where: eq(userClaims.userId, userId) });
  return row ? (JSON.parse(await createMultiFernet(env.CLAIMS_FERNET_KEYS).decryptText(row.ciphertext)) as Record<string, unknown>) : null;
};
const auditFor = (target: string, action: string) => db().select().from(auditLog).where(and(eq(auditLog.target, target), eq(auditLog.action, action)));

describe('user management: access', () => {
  it('needs a Hasura admin role (ADMIN_ROLES): 403 insufficient_scope otherwise', async () => {
    const plain = await signIn();
    await expectBearerError(await call('/api/admin/users', plain.access), 403, 'insufficient_scope');
    await expectBearerError(await call('/api/admin/users', null), 401, 'invalid_token');
    // The same user passes when their role `editor` is configured as an admin role.
    expect((await callWith({ ADMIN_ROLES: 'editor,ops' }, '/api/admin/users?limit=1', plain.access)).status).toBe(200);
  });
});

describe('user management: create, read, list', () => {
  it('creates a confirmed user with a password and encrypted Hasura claims (NEW_USER_ROLES by default), audited', async () => {
    const admin = await signInAdmin();
    const email = uniqueEmail('created');
    const res = await call('/api/admin/users', admin.access, json('POST', { email: email.toUpperCase(), password: 'a perfectly long passphrase 42', groups: ['staff'] }));
    expect(res.status).toBe(201);
    const { user, temporaryPassword } = (await res.json()) as { user: AdminUser; temporaryPassword: string | null };
    expect(temporaryPassword).toBeNull();
    expect(user).toMatchObject({ email, status: 'CONFIRMED', enabled: true, roles: ['user'], defaultRole: 'user', groups: ['staff'] });
    expect(await claimsOf(user.id)).toEqual({ 'x-hasura-user-id': user.id, 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user'] });
    const [audit] = await auditFor(user.id, 'user.create');
    expect(audit?.actor).toBe(admin.user.id);
    expect(await (await call(`/api/admin/users/${user.id}`, admin.access)).json()).toEqual(user);
  });

  it('creates a user with a temporary password (shown once) and explicit roles', async () => {
    const admin = await signInAdmin();
    const res = await call('/api/admin/users', admin.access, json('POST', { email: uniqueEmail(), temporaryPassword: true, roles: ['editor', 'viewer'], defaultRole: 'viewer' }));
    expect(res.status).toBe(201);
    const { user, temporaryPassword } = (await res.json()) as { user: AdminUser; temporaryPassword: string };
    expect(temporaryPassword).toMatch(/^Tmp-/);
    expect(user).toMatchObject({ status: 'FORCE_CHANGE_PASSWORD', roles: ['editor', 'viewer'], defaultRole: 'viewer' });
  });

  it('answers 400 with fields, 400 for a weak password, 409 for an existing email, 404 for an unknown id', async () => {
    const admin = await signInAdmin();
    const bad = await expectProblem(await call('/api/admin/users', admin.access, json('POST', { email: 'nope', password: 'x', temporaryPassword: true, roles: ['a b'] })), 400);
    expect(bad.errors?.map((e) => e.path).sort()).toEqual(expect.arrayContaining(['email', 'roles.0']));
    const weak = await expectProblem(await call('/api/admin/users', admin.access, json('POST', { email: uniqueEmail(), password: 'password' })), 400);
    expect(weak.type).toBe('urn:gatehouse:problem:weak-password');
    await expectProblem(await call('/api/admin/users', admin.access, json('POST', { email: admin.user.email })), 409);
    await expectProblem(await call(`/api/admin/users/${crypto.randomUUID()}`, admin.access), 404);
  });

  it('lists users a page at a time', async () => {
    const admin = await signInAdmin();
    const first = (await (await call('/api/admin/users?limit=2', admin.access)).json()) as { users: AdminUser[]; next: string };
    expect(first.users).toHaveLength(2);
    expect(first.next).toBe('2');
    const second = (await (await call(`/api/admin/users?limit=2&after=${first.next}`, admin.access)).json()) as { users: AdminUser[] };
    expect(second.users[0]!.email > first.users[1]!.email).toBe(true);
  });
});

describe('user management: change roles, disable, delete', () => {
  it('rewrites the claims on a role change; the next sign-in carries the new roles', async () => {
    const admin = await signInAdmin();
    const target = await signIn();
    const res = await call(`/api/admin/users/${target.user.id}`, admin.access, json('PUT', { roles: ['auditor', 'editor'], defaultRole: 'auditor' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ roles: ['auditor', 'editor'], defaultRole: 'auditor' });
    expect(await claimsOf(target.user.id)).toMatchObject({ 'x-hasura-allowed-roles': ['auditor', 'editor'], 'x-hasura-default-role': 'auditor', 'x-hasura-user-db-id': 42 });
    const refreshed = await tokenRequest({ grant_type: 'refresh_token', refresh_token: target.refresh }, { Authorization: basic(target.clientId, target.secret) });
    const idToken = ((await refreshed.json()) as { id_token: string }).id_token;
    const payload = JSON.parse(atob(idToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')));
    expect(JSON.parse(payload['https://hasura.io/jwt/claims'])['x-hasura-allowed-roles']).toEqual(['auditor', 'editor']);
    expect(await auditFor(target.user.id, 'user.set_roles')).toHaveLength(1);
    const invalid = await expectProblem(await call(`/api/admin/users/${target.user.id}`, admin.access, json('PUT', { defaultRole: 'x' })), 400);
    expect(invalid.errors?.[0]?.path).toBe('defaultRole');
  });

  it('disables a user: their refresh fails, their access tokens stop working; enabling again is possible', async () => {
    const admin = await signInAdmin();
    const target = await signIn();
    expect((await call('/api/users/me', target.access)).status).toBe(200);
    const res = await call(`/api/admin/users/${target.user.id}`, admin.access, json('PUT', { enabled: false }));
    expect(((await res.json()) as AdminUser).enabled).toBe(false);
    const refresh = await tokenRequest({ grant_type: 'refresh_token', refresh_token: target.refresh }, { Authorization: basic(target.clientId, target.secret) });
    expect(refresh.status).toBe(400);
    await expectBearerError(await call('/api/users/me', target.access), 401, 'invalid_token');
    expect(await auditFor(target.user.id, 'user.disable')).toHaveLength(1);
    expect(((await (await call(`/api/admin/users/${target.user.id}`, admin.access, json('PUT', { enabled: true }))).json()) as AdminUser).enabled).toBe(true);
  });

  it('deletes a user: login, claims and identities go, tokens are revoked, the audit row stays', async () => {
    const admin = await signInAdmin();
    const target = await signIn();
    await db().insert(userIdentities).values({ id: crypto.randomUUID(), userId: target.user.id, provider: 'azuread', subject: crypto.randomUUID() });
    expect((await call(`/api/admin/users/${target.user.id}`, admin.access, { method: 'DELETE' })).status).toBe(204);
    expect(await db().query.users.findFirst({ where: eq(users.id, target.user.id) })).toBeUndefined();
    expect(await claimsOf(target.user.id)).toBeNull();
    expect(await db().select().from(userIdentities).where(eq(userIdentities.userId, target.user.id))).toEqual([]);
    expect(await db().select().from(refreshTokens).where(eq(refreshTokens.userId, target.user.id))).toEqual([]);
    await expectBearerError(await call('/v1/graphql', target.access, json('POST', { query: '{a}' })), 401, 'invalid_token');
    const [audit] = await auditFor(target.user.id, 'user.delete');
    expect(audit).toMatchObject({ actor: admin.user.id, detail: { email: target.user.email } });
    await expectProblem(await call(`/api/admin/users/${target.user.id}`, admin.access, { method: 'DELETE' }), 404);
  });

  it('does not let an administrator disable, demote or delete themselves', async () => {
    const admin = await signInAdmin();
    await expectProblem(await call(`/api/admin/users/${admin.user.id}`, admin.access, json('PUT', { enabled: false })), 409);
    await expectProblem(await call(`/api/admin/users/${admin.user.id}`, admin.access, json('PUT', { roles: ['user'] })), 409);
    await expectProblem(await call(`/api/admin/users/${admin.user.id}`, admin.access, { method: 'DELETE' }), 409);
  });
});
