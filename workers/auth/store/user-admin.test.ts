import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { Problem } from '../../../lib/errors.ts';
import { createMultiFernet } from '../../../lib/fernet.ts';
import { verifyPassword } from '../../../lib/password.ts';
import { auditLog, refreshTokens, revokedFamilies, userClaims, userGroups, users } from '../../../schema/index.ts';
import { database } from '../../db.ts';
import { registerClient } from './client-admin.ts';
import { issueRefreshToken } from './refresh-tokens.ts';
import { createAccount, deleteAccount, getUser, listUsers, setUserEnabled, setUserGroups, setUserPassword, setUserStatus } from './user-admin.ts';

const db = () => database(env.DB);
const fernet = createMultiFernet(env.CLAIMS_FERNET_KEYS);
const by = { actor: 'admin-cli' };
const email = (tag: string) => `${tag}-${crypto.randomUUID().slice(0, 8)}@Example.com`;
const PASSWORD = 'correct horse battery staple';

async function problemOf(fn: () => Promise<unknown>): Promise<Problem> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Problem);
  return err as Problem;
}

const row = async (id: string) => (await db().select().from(users).where(eq(users.id, id)))[0];
const claimsOf = async (id: string) => {
  const [stored] = await db().select().from(userClaims).where(eq(userClaims.userId, id));
  return stored ? (JSON.parse(await fernet.decryptText(stored.ciphertext)) as unknown) : undefined;
};

async function seedFamily(userId: string) {
  const { client } = await registerClient(db(), { name: 't', confidential: true, redirectUris: ['https://a.example/cb'] }, by);
  const familyId = crypto.randomUUID();
  await issueRefreshToken(db(), { familyId, clientId: client.id, userId, scopes: ['openid'], authTime: Date.now(), originJti: familyId, ttlSeconds: 3600 });
  return familyId;
}

describe('createAccount', () => {
  it('creates a CONFIRMED user with a hashed password, groups and exact role claims', async () => {
    const address = email('alice');
    const { user, temporaryPassword } = await createAccount(
      db(),
      fernet,
      { email: address, password: PASSWORD, groups: ['staff', 'ops', 'staff'], roles: ['user', 'editor'], defaultRole: 'editor', claims: { 'x-hasura-org-id': '7' } },
      by,
    );
    expect(temporaryPassword).toBeNull();
    expect(user).toMatchObject({ email: address.toLowerCase(), status: 'CONFIRMED', enabled: true, emailVerified: true, hasPassword: true, hasClaims: true, groups: ['ops', 'staff'] });
    const stored = await row(user.id);
    expect(stored?.passwordHash).toMatch(/^pbkdf2-sha256\$100000\$/);
    expect((await verifyPassword(PASSWORD, stored?.passwordHash ?? '')).ok).toBe(true);
    expect(JSON.stringify(await claimsOf(user.id))).toBe(
      JSON.stringify({ 'x-hasura-user-id': user.id, 'x-hasura-default-role': 'editor', 'x-hasura-allowed-roles': ['user', 'editor'], 'x-hasura-org-id': '7' }),
    );
    const [audit] = await db().select().from(auditLog).where(eq(auditLog.target, user.id));
    expect(audit).toMatchObject({ actor: 'admin-cli', action: 'user.create', detail: { status: 'CONFIRMED', roles: ['user', 'editor'] } });
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);
  });

  it('generates a temporary password that works and forces a change; with no password the user must reset', async () => {
    const temp = await createAccount(db(), null, { email: email('temp'), temporaryPassword: true }, by);
    expect(temp.user.status).toBe('FORCE_CHANGE_PASSWORD');
    expect(temp.user.hasClaims).toBe(false);
    expect((await verifyPassword(temp.temporaryPassword ?? '', (await row(temp.user.id))?.passwordHash ?? '')).ok).toBe(true);
    const none = await createAccount(db(), null, { email: email('none') }, by);
    expect(none).toMatchObject({ temporaryPassword: null, user: { status: 'RESET_REQUIRED', hasPassword: false } });
  });

  it('refuses bad emails, weak passwords, duplicates, bad roles and claims without keys', async () => {
    expect((await problemOf(() => createAccount(db(), fernet, { email: 'not-an-email' }, by))).message).toBe('invalid email: email: is not a valid email address');
    const weak = await problemOf(() => createAccount(db(), fernet, { email: email('weak'), password: 'password1' }, by));
    expect(weak.message).toMatch(/^weak password: /);
    const address = email('dup');
    await createAccount(db(), fernet, { email: address }, by);
    const dup = await problemOf(() => createAccount(db(), fernet, { email: address.toUpperCase() }, by));
    expect([dup.status, dup.message]).toEqual([409, `user ${address.toLowerCase()} already exists`]);
    expect((await problemOf(() => createAccount(db(), fernet, { email: email('r'), roles: ['user'], defaultRole: 'admin' }, by))).message).toContain('admin is not one of the roles');
    expect((await problemOf(() => createAccount(db(), fernet, { email: email('r'), roles: ['user'], claims: { 'x-hasura-user-id': 'x' } }, by))).message).toContain('is set from the user id and roles');
    expect((await problemOf(() => createAccount(db(), null, { email: email('k'), roles: ['user'] }, by))).message).toBe('storing claims needs CLAIMS_FERNET_KEYS');
  });
});

describe('listing and changing users', () => {
  it('lists and shows summaries without the password hash', async () => {
    const { user } = await createAccount(db(), fernet, { email: email('list'), password: PASSWORD, groups: ['b', 'a'] }, by);
    const listed = (await listUsers(db(), { limit: 100_000 })).find((u) => u.id === user.id);
    expect(listed).toEqual({ ...user, groups: ['a', 'b'] });
    expect(Object.keys(listed ?? {})).not.toContain('passwordHash');
    expect((await problemOf(() => getUser(db(), 'ghost@example.com'))).message).toBe('no user ghost@example.com');
  });

  it('replaces group memberships', async () => {
    const { user } = await createAccount(db(), null, { email: email('groups'), groups: ['a', 'b'] }, by);
    expect(await setUserGroups(db(), user.email, ['c', 'a'], by)).toEqual(['a', 'c']);
    const rows = await db().select().from(userGroups).where(eq(userGroups.userId, user.id));
    expect(rows.map((r) => r.groupName).sort()).toEqual(['a', 'c']);
    expect((await problemOf(() => setUserGroups(db(), user.email, ['has space'], by))).status).toBe(400);
  });

  it('sets a permanent or temporary password and clears a lock-out', async () => {
    const { user } = await createAccount(db(), null, { email: email('pw') }, by);
    await db().update(users).set({ failedLogins: 4, lockedUntil: Date.now() + 60_000 }).where(eq(users.id, user.id));
    expect((await problemOf(() => setUserPassword(db(), user.email, { password: '12345678' }, by))).message).toMatch(/^weak password/);
    expect(await setUserPassword(db(), user.email, { password: PASSWORD }, by)).toEqual({ temporaryPassword: null });
    expect(await row(user.id)).toMatchObject({ status: 'CONFIRMED', failedLogins: 0, lockedUntil: null });
    const { temporaryPassword } = await setUserPassword(db(), user.email, { temporary: true }, by);
    const stored = await row(user.id);
    expect(stored?.status).toBe('FORCE_CHANGE_PASSWORD');
    expect((await verifyPassword(temporaryPassword ?? '', stored?.passwordHash ?? '')).ok).toBe(true);
    expect((await verifyPassword(PASSWORD, stored?.passwordHash ?? '')).ok).toBe(false);
    expect((await setUserStatus(db(), user.email, 'RESET_REQUIRED', by)).status).toBe('RESET_REQUIRED');
  });

  it('disabling revokes token families; enabling restores access', async () => {
    const { user } = await createAccount(db(), null, { email: email('dis') }, by);
    const familyId = await seedFamily(user.id);
    const disabled = await setUserEnabled(db(), user.email, false, by);
    expect([disabled.user.enabled, disabled.revokedFamilies]).toEqual([false, 1]);
    expect((await row(user.id))?.enabled).toBe(false);
    expect((await db().select().from(revokedFamilies).where(eq(revokedFamilies.familyId, familyId)))[0]?.reason).toBe('user_disabled');
    expect((await setUserEnabled(db(), user.email, true, by)).user.enabled).toBe(true);
    const actions = (await db().select().from(auditLog).where(eq(auditLog.target, user.id))).map((a) => a.action);
    expect(actions).toEqual(['user.create', 'user.disable', 'user.enable']);
  });

  it('deletes a user with everything attached, after revoking its families', async () => {
    const { user } = await createAccount(db(), fernet, { email: email('del'), groups: ['g'], roles: ['user'] }, by);
    const familyId = await seedFamily(user.id);
    expect((await deleteAccount(db(), user.email, by)).revokedFamilies).toBe(1);
    expect(await row(user.id)).toBeUndefined();
    expect(await db().select().from(userClaims).where(eq(userClaims.userId, user.id))).toEqual([]);
    expect(await db().select().from(userGroups).where(eq(userGroups.userId, user.id))).toEqual([]);
    expect(await db().select().from(refreshTokens).where(eq(refreshTokens.userId, user.id))).toEqual([]);
    expect((await db().select().from(revokedFamilies).where(eq(revokedFamilies.familyId, familyId))).length).toBe(1);
    expect((await db().select().from(auditLog).where(eq(auditLog.target, user.id))).map((a) => a.action)).toEqual(['user.create', 'user.delete']);
    expect((await problemOf(() => deleteAccount(db(), user.email, by))).status).toBe(404);
  });
});
