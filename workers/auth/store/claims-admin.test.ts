import { env } from 'cloudflare:workers';
import { eq, inArray } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { bytesToBase64 } from '../../../lib/encoding.ts';
import { Problem } from '../../../lib/errors.ts';
import { createMultiFernet, fernetDecrypt, fernetEncrypt, type MultiFernet } from '../../../lib/fernet.ts';
import { auditLog, userClaims, users } from '../../../schema/index.ts';
import { database } from '../../db.ts';
import { buildRoleClaims, readUserClaims, reencryptAllClaims, setUserClaims, setUserRoles, importUsers } from './claims-admin.ts';
import { createUser } from './users.ts';

const db = () => database(env.DB);
const fernet = createMultiFernet(env.CLAIMS_FERNET_KEYS);
const by = { actor: 'admin-cli' };
const email = (tag: string) => `${tag}-${crypto.randomUUID().slice(0, 8)}@example.com`;
const newKey = () => bytesToBase64(crypto.getRandomValues(new Uint8Array(32))).replaceAll('+', '-').replaceAll('/', '_');

async function problemOf(fn: () => Promise<unknown>): Promise<Problem> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Problem);
  return err as Problem;
}

const ciphertextOf = async (id: string) => (await db().select().from(userClaims).where(eq(userClaims.userId, id)))[0]?.ciphertext;

describe('buildRoleClaims', () => {
  const input = (roles: string[], defaultRole?: string, claims: Record<string, string> = {}) => ({ roles, defaultRole, claims });

  it('puts the user id and roles first and keeps every other stored claim', () => {
    const current = { 'X-Hasura-User-Id': 'old-id', 'x-hasura-default-role': 'viewer', 'x-hasura-allowed-roles': ['viewer'], 'x-hasura-org-id': '3' };
    expect(JSON.stringify(buildRoleClaims(current, 'new-id', input(['user', 'editor'], undefined, { 'X-Hasura-Team': 'a' })))).toBe(
      JSON.stringify({ 'x-hasura-user-id': 'old-id', 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user', 'editor'], 'x-hasura-org-id': '3', 'x-hasura-team': 'a' }),
    );
  });

  it('keeps the current default role when it is still allowed, unless another is given', () => {
    const current = { 'x-hasura-default-role': 'editor', 'x-hasura-allowed-roles': ['editor'] };
    expect(buildRoleClaims(current, 'id', input(['user', 'editor']))['x-hasura-default-role']).toBe('editor');
    expect(buildRoleClaims(current, 'id', input(['user', 'editor'], 'user'))['x-hasura-default-role']).toBe('user');
    expect(buildRoleClaims(null, 'id', input([], undefined, { 'x-hasura-a': '1' }))).toEqual({ 'x-hasura-user-id': 'id', 'x-hasura-a': '1' });
  });
});

describe('setUserRoles and setUserClaims', () => {
  it('rewrites roles keeping the other x-hasura values, and refuses claims no key can read', async () => {
    const id = crypto.randomUUID();
    const address = email('roles');
    await createUser(db(), fernet, { id, email: address, claims: { 'x-hasura-user-id': 'legacy', 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user'], 'x-hasura-user-db-id': '12' } });
    const claims = await setUserRoles(db(), fernet, address, { roles: ['admin', 'user'], defaultRole: 'admin' }, by);
    const expected = { 'x-hasura-user-id': 'legacy', 'x-hasura-default-role': 'admin', 'x-hasura-allowed-roles': ['admin', 'user'], 'x-hasura-user-db-id': '12' };
    expect(claims).toEqual(expected);
    expect(await readUserClaims(db(), fernet, id)).toEqual({ state: 'ok', claims: expected });
    expect((await db().select().from(auditLog).where(eq(auditLog.target, id)))[0]).toMatchObject({ action: 'user.set_roles', detail: { roles: ['admin', 'user'] } });

    await setUserClaims(db(), createMultiFernet(newKey()), address, { 'x-hasura-user-id': id }, by);
    expect(await readUserClaims(db(), fernet, id)).toEqual({ state: 'unreadable', reason: 'no key can decrypt it (signature mismatch)' });
    const p = await problemOf(() => setUserRoles(db(), fernet, address, { roles: ['user'] }, by));
    expect([p.status, p.message]).toEqual([409, `stored claims of ${address} cannot be read: no key can decrypt it (signature mismatch); check CLAIMS_FERNET_KEYS`]);
    expect((await problemOf(() => setUserRoles(db(), fernet, 'ghost@example.com', { roles: ['user'] }, by))).status).toBe(404);
    expect((await problemOf(() => setUserRoles(db(), fernet, address, { roles: [] }, by))).message).toBe('give at least one role');
  });

  it('gives users without claims fresh ones from their id', async () => {
    const id = crypto.randomUUID();
    const address = email('fresh');
    await createUser(db(), fernet, { id, email: address });
    expect(await readUserClaims(db(), fernet, id)).toEqual({ state: 'none' });
    expect(await setUserRoles(db(), fernet, address, { roles: ['user'] }, by)).toEqual({ 'x-hasura-user-id': id, 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user'] });
  });
});

describe('reencryptAllClaims', () => {
  it('moves every readable row to the primary key and reports rows no key opens', async () => {
    const oldKey = newKey();
    const primary = newKey();
    const old = createMultiFernet(oldKey);
    const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    for (const id of ids.slice(0, 2)) await createUser(db(), old, { id, email: email('rot'), claims: { 'x-hasura-user-id': id } });
    const stray = ids[2] ?? '';
    await createUser(db(), createMultiFernet(newKey()), { id: stray, email: email('stray'), claims: { 'x-hasura-user-id': stray } });
    const before = await Promise.all(ids.map(ciphertextOf));
    const progress: number[] = [];

    // Rows of other test files (under other keys) may share this database: the assertions look at this test's rows only.
    const report = await reencryptAllClaims(db(), createMultiFernet([primary, oldKey]), by, { batchSize: 1, onProgress: (r) => progress.push(r.processed) });
    expect(report.failed).toContainEqual({ userId: stray, reason: 'no key can decrypt it (signature mismatch)' });
    expect(report.failed.map((f) => f.userId)).not.toContain(ids[0]);
    expect(report.rotated).toBeGreaterThanOrEqual(2);
    expect(progress.length).toBe(report.processed);
    expect(progress.at(-1)).toBe(report.processed);

    const after = await Promise.all(ids.map(ciphertextOf));
    for (const [i, id] of ids.slice(0, 2).entries()) {
      const token = after[i] ?? '';
      expect(token).not.toBe(before[i]);
      expect(JSON.parse(new TextDecoder().decode(await fernetDecrypt(primary, token)))).toEqual({ 'x-hasura-user-id': id });
      await expect(fernetDecrypt(oldKey, token)).rejects.toThrow('signature');
    }
    expect(after[2]).toBe(before[2]);
  });

  it('leaves a row alone when it changed between the read and the write', async () => {
    const key = newKey();
    const id = crypto.randomUUID();
    await createUser(db(), createMultiFernet(key), { id, email: email('race'), claims: { n: 1 } });
    const original = await ciphertextOf(id);
    const racing = await fernetEncrypt(key, JSON.stringify({ n: 2 }));
    const ring = createMultiFernet([key]);
    // rotate() writing the row first stands in for the Worker storing new claims in the middle of a rotation.
    const racingRing: MultiFernet = {
      ...ring,
      rotate: async (token) => {
        if (token === original) await db().update(userClaims).set({ ciphertext: racing }).where(eq(userClaims.userId, id));
        return ring.rotate(token);
      },
    };
    const report = await reencryptAllClaims(db(), racingRing, by, { batchSize: 1000 });
    expect(report.changedMeanwhile).toBeGreaterThanOrEqual(1);
    expect(await ciphertextOf(id)).toBe(racing);
  });
});

describe('importUsers', () => {
  const entry = (id: string, address: string, claims: Record<string, unknown>) => ({ id, email: address, claims });

  it('imports with the old id as sub, skips identical re-runs, updates changed claims, and reports conflicts', async () => {
    const id = crypto.randomUUID();
    const address = email('moped');
    const claims = { 'x-hasura-user-id': id, 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user'] };

    expect(await importUsers(db(), fernet, [entry(id, address.toUpperCase(), claims)], by, { dryRun: true })).toEqual([{ outcome: 'imported' }]);
    expect(await db().select().from(users).where(eq(users.id, id))).toEqual([]);

    expect(await importUsers(db(), fernet, [entry(id, address, claims)], by, { source: 'moped' })).toEqual([{ outcome: 'imported' }]);
    const [user] = await db().select().from(users).where(eq(users.id, id));
    expect(user).toMatchObject({ username: address, email: address, status: 'RESET_REQUIRED', passwordHash: null, emailVerified: true, enabled: true });
    expect(await readUserClaims(db(), fernet, id)).toEqual({ state: 'ok', claims });

    const reordered = { 'x-hasura-allowed-roles': ['user'], 'x-hasura-default-role': 'user', 'x-hasura-user-id': id };
    const changed = { ...claims, 'x-hasura-allowed-roles': ['user', 'editor'] };
    expect(await importUsers(db(), fernet, [entry(id, address, reordered)], by)).toEqual([{ outcome: 'skipped' }]);
    expect(await importUsers(db(), fernet, [entry(id, address, changed)], by, { dryRun: true })).toEqual([{ outcome: 'updated' }]);
    expect(await readUserClaims(db(), fernet, id)).toEqual({ state: 'ok', claims });

    const other = crypto.randomUUID();
    const results = await importUsers(db(), fernet, [entry(id, address, changed), entry(other, address, claims), entry(id, 'someone-else@example.com', claims)], by);
    expect(results).toEqual([
      { outcome: 'updated' },
      { outcome: 'failed', reason: `id/email conflict: ${address} already belongs to user ${id}` },
      { outcome: 'failed', reason: `id/email conflict: user ${id} already has the email ${address}` },
    ]);
    expect(await readUserClaims(db(), fernet, id)).toEqual({ state: 'ok', claims: changed });
    const audits = await db().select().from(auditLog).where(inArray(auditLog.target, [id, other]));
    expect(audits.map((a) => [a.action, a.actor, a.detail])).toEqual([
      ['user.import', 'admin-cli', { email: address, source: 'moped' }],
      ['user.import', 'admin-cli', { email: address, source: 'import' }],
    ]);
  });

  it('handles many users in several chunks, and the same user twice in one file', async () => {
    const many = Array.from({ length: 95 }, (_, i) => {
      const id = crypto.randomUUID();
      return entry(id, email(`bulk${i}`), { 'x-hasura-user-id': id, 'x-hasura-n': String(i) });
    });
    const first = many[0] ?? entry('', '', {});
    const dup = { ...first, claims: { ...first.claims, 'x-hasura-n': 'again' } };
    const progress: number[] = [];
    const results = await importUsers(db(), fernet, [...many, dup], by, { onProgress: (n) => progress.push(n) });
    expect(results.filter((r) => r.outcome === 'imported').length).toBe(95);
    expect(results.at(-1)).toEqual({ outcome: 'updated' });
    expect(progress).toEqual([40, 80, 96]);
    const rows = await db().select().from(users).where(inArray(users.id, many.map((m) => m.id)));
    expect(rows.length).toBe(95);
    expect(await readUserClaims(db(), fernet, first.id)).toEqual({ state: 'ok', claims: dup.claims });
  });
});
