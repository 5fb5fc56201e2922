import { desc, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog } from '../schema/index.ts';
import { planGrant } from '../workers/api/device-roles.ts';
import { rolesOf, seedDevice } from './api.test-fixture.ts';
import { db } from './support/auth-fixtures.ts';
import { call, expectProblem, json, signIn } from './gateway.test-fixture.ts';

type Member = { userId: string; email: string; role: string; grantedBy: string | null; grantedAt: string };

async function team() {
  const [owner, admin, operator, viewer, outsider] = await Promise.all([signIn(), signIn(), signIn(), signIn(), signIn()]);
  const d = await seedDevice({ members: [[owner.user.id, 'owner'], [admin.user.id, 'admin'], [operator.user.id, 'operator'], [viewer.user.id, 'viewer']] });
  return { d, owner, admin, operator, viewer, outsider };
}
const put = (deviceId: string, userId: string, token: string, role: string) => call(`/api/devices/${deviceId}/users/${userId}`, token, json('PUT', { role }));

describe('device sharing: GET /api/devices/:deviceId/users', () => {
  it('lists users strongest role first, for admins and the owner only', async () => {
    const t = await team();
    const res = await call(`/api/devices/${t.d.id}/users`, t.admin.access);
    expect(res.status).toBe(200);
    const { users } = (await res.json()) as { users: Member[] };
    expect(users.map((u) => [u.userId, u.role])).toEqual([[t.owner.user.id, 'owner'], [t.admin.user.id, 'admin'], [t.operator.user.id, 'operator'], [t.viewer.user.id, 'viewer']]);
    expect(users[0]?.email).toBe(t.owner.user.email);
    await expectProblem(await call(`/api/devices/${t.d.id}/users`, t.operator.access), 403);
    await expectProblem(await call(`/api/devices/${t.d.id}/users`, t.outsider.access), 404);
  });
});

describe('device sharing: PUT /api/devices/:deviceId/users/:userId', () => {
  it('lets an admin grant up to their own role (201 new, 200 changed) and records who granted it', async () => {
    const t = await team();
    const res = await put(t.d.id, t.outsider.user.id, t.admin.access, 'operator');
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ userId: t.outsider.user.id, role: 'operator', grantedBy: t.admin.user.id });
    expect((await put(t.d.id, t.outsider.user.id, t.admin.access, 'admin')).status).toBe(200);
    const [audit] = await db().select().from(auditLog).where(eq(auditLog.target, t.d.id)).orderBy(desc(auditLog.id)).limit(1);
    expect(audit).toMatchObject({ actor: t.admin.user.id, action: 'device.grant', detail: { userId: t.outsider.user.id, role: 'admin' } });
  });

  it('refuses grants above one’s own role, sharing by operators, and changing stronger users', async () => {
    const t = await team();
    const above = await expectProblem(await put(t.d.id, t.outsider.user.id, t.admin.access, 'owner'), 403);
    expect(above.detail).toMatch(/Only the owner/);
    await expectProblem(await put(t.d.id, t.outsider.user.id, t.operator.access, 'viewer'), 403);
    await expectProblem(await put(t.d.id, t.viewer.user.id, t.operator.access, 'operator'), 403);
    expect(() => planGrant({ id: 'a', role: 'admin' }, { id: 'b', current: undefined }, 'owner')).toThrow(/Only the owner/);
    expect(() => planGrant({ id: 'a', role: 'operator' }, { id: 'b', current: undefined }, 'admin')).toThrow();
  });

  it('keeps the owner unless ownership is transferred; a transfer makes the old owner admin', async () => {
    const t = await team();
    const demote = await expectProblem(await put(t.d.id, t.owner.user.id, t.admin.access, 'viewer'), 409);
    expect(demote.detail).toMatch(/transferring ownership/);
    await expectProblem(await put(t.d.id, t.owner.user.id, t.owner.access, 'admin'), 409);
    await expectProblem(await put(t.d.id, t.owner.user.id, t.owner.access, 'owner'), 409);
    const res = await put(t.d.id, t.viewer.user.id, t.owner.access, 'owner');
    expect(res.status).toBe(200);
    expect(await rolesOf(t.d.id)).toMatchObject({ [t.viewer.user.id]: 'owner', [t.owner.user.id]: 'admin' });
    expect(Object.values(await rolesOf(t.d.id)).filter((r) => r === 'owner')).toHaveLength(1);
    // The old owner is an admin now, and cannot take ownership back.
    await expectProblem(await put(t.d.id, t.owner.user.id, t.owner.access, 'owner'), 403);
  });

  it('validates the role and the target user', async () => {
    const t = await team();
    const bad = await expectProblem(await put(t.d.id, t.outsider.user.id, t.owner.access, 'superuser'), 400);
    expect(bad.errors?.[0]?.path).toBe('role');
    await expectProblem(await put(t.d.id, crypto.randomUUID(), t.owner.access, 'viewer'), 404);
  });
});

describe('device sharing: DELETE /api/devices/:deviceId/users/:userId', () => {
  it('lets admins remove users up to their role, anyone leave, and never removes the owner', async () => {
    const t = await team();
    expect((await call(`/api/devices/${t.d.id}/users/${t.viewer.user.id}`, t.admin.access, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`/api/devices/${t.d.id}/users/${t.operator.user.id}`, t.operator.access, { method: 'DELETE' })).status).toBe(204);
    const owner = await expectProblem(await call(`/api/devices/${t.d.id}/users/${t.owner.user.id}`, t.admin.access, { method: 'DELETE' }), 409);
    expect(owner.detail).toMatch(/transfer ownership first/);
    await expectProblem(await call(`/api/devices/${t.d.id}/users/${t.owner.user.id}`, t.owner.access, { method: 'DELETE' }), 409);
    await expectProblem(await call(`/api/devices/${t.d.id}/users/${crypto.randomUUID()}`, t.admin.access, { method: 'DELETE' }), 404);
    expect(await rolesOf(t.d.id)).toEqual({ [t.owner.user.id]: 'owner', [t.admin.user.id]: 'admin' });
  });

  it('refuses removal by operators, and of stronger users', async () => {
    const t = await team();
    await expectProblem(await call(`/api/devices/${t.d.id}/users/${t.viewer.user.id}`, t.operator.access, { method: 'DELETE' }), 403);
    const other = await signIn();
    await put(t.d.id, other.user.id, t.owner.access, 'admin');
    await expectProblem(await call(`/api/devices/${t.d.id}/users/${t.admin.user.id}`, t.viewer.access, { method: 'DELETE' }), 403);
  });
});
