import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog, deviceOrgs } from '../schema/index.ts';
import { database } from '../workers/db.ts';
import { assignDeviceToOrg, effectiveDeviceRole, orgOfDevice, orgRoleOnDevice } from '../workers/orgs/index.ts';
import { seedDevice } from './api.test-fixture.ts';
import { addMember, apiUser, createOrg } from './orgs.test-fixture.ts';
import { db } from './support/auth-fixtures.ts';

describe('assignDeviceToOrg (OTP enrolment and claims into an organisation)', () => {
  it('links a device to one organisation once, audited once, and never moves it', async () => {
    const owner = await apiUser();
    const [a, b] = [await createOrg(owner.token), await createOrg(owner.token)];
    const device = await seedDevice({ members: [] });
    const by = { actor: 'prov-admin', requestId: 'req-1' };
    expect(await assignDeviceToOrg(database(env.DB), device.id, a.id, by)).toBe('assigned');
    expect(await assignDeviceToOrg(database(env.DB), device.id, a.id, by)).toBe('already_member');
    expect(await assignDeviceToOrg(database(env.DB), device.id, b.id, { actor: owner.user.id })).toBe('in_other_org');
    expect(await orgOfDevice(database(env.DB), device.id)).toBe(a.id);
    expect(await db().select().from(deviceOrgs).where(eq(deviceOrgs.deviceId, device.id))).toEqual([expect.objectContaining({ orgId: a.id, assignedBy: 'prov-admin' })]);
    const audit = await db().select().from(auditLog).where(and(eq(auditLog.action, 'org.device_assign'), eq(auditLog.target, a.id)));
    expect(audit.map((r) => [r.actor, r.detail, r.requestId])).toEqual([['prov-admin', { deviceId: device.id }, 'req-1']]);
    expect(await db().select().from(auditLog).where(and(eq(auditLog.action, 'org.device_assign'), eq(auditLog.target, b.id)))).toEqual([]);
  });

  it('reports unknown devices and organisations without writing anything', async () => {
    const owner = await apiUser();
    const org = await createOrg(owner.token);
    const device = await seedDevice({ members: [] });
    expect(await assignDeviceToOrg(database(env.DB), crypto.randomUUID(), org.id, { actor: 'x' })).toBe('unknown_device');
    expect(await assignDeviceToOrg(database(env.DB), device.id, crypto.randomUUID(), { actor: 'x' })).toBe('unknown_org');
    expect(await orgOfDevice(database(env.DB), device.id)).toBeNull();
  });
});

describe('organisation roles on the organisation’s devices', () => {
  it('maps owner and admin to admin, member to viewer; a stronger direct role wins', async () => {
    const [owner, member, outsider] = await Promise.all([apiUser(), apiUser(), apiUser()]);
    const org = await createOrg(owner.token);
    await addMember(owner.token, org.id, member.user.id, 'member');
    const device = await seedDevice({ members: [[member.user.id, 'operator']] });
    await assignDeviceToOrg(database(env.DB), device.id, org.id, { actor: 'test' });
    expect(await orgRoleOnDevice(database(env.DB), device.id, owner.user.id)).toEqual({ orgId: org.id, orgRole: 'owner', deviceRole: 'admin' });
    expect(await orgRoleOnDevice(database(env.DB), device.id, member.user.id)).toEqual({ orgId: org.id, orgRole: 'member', deviceRole: 'viewer' });
    expect(await orgRoleOnDevice(database(env.DB), device.id, outsider.user.id)).toBeUndefined();
    expect(effectiveDeviceRole('operator', 'member')).toBe('operator');
    expect(effectiveDeviceRole('viewer', 'admin')).toBe('admin');
    expect(effectiveDeviceRole('owner', 'admin')).toBe('owner');
    expect(effectiveDeviceRole(undefined, 'member')).toBe('viewer');
    expect(effectiveDeviceRole(undefined, undefined)).toBeUndefined();
  });
});
