import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { env, exports } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { buildCsr, generateDeviceKey } from '../agent/csr.ts';
import { base64Body, parseCertsOnlyPkcs7 } from '../lib/pki/pkcs7.ts';
import { auditLog, deviceOrgs, devices } from '../schema/index.ts';
import { database } from '../workers/db.ts';
import { issueClaimCode } from '../workers/devices/claim-store.ts';
import { assignDeviceToOrg, effectiveDeviceRole, orgOfDevice, orgRoleOnDevice } from '../workers/orgs/index.ts';
import { rolesOf, seedDevice } from './api.test-fixture.ts';
import { BASE, call, json } from './gateway.test-fixture.ts';
import { addMember, apiUser, createOrg } from './orgs.test-fixture.ts';
import { db } from './support/auth-fixtures.ts';

const provAdmin = { Authorization: `PROV-ADMIN ${env.PROV_ADMIN_API_KEY}`, 'CF-Connecting-IP': '192.0.2.61', 'Content-Type': 'application/json' };
const issueOtp = (body: unknown) => exports.default.fetch(`${BASE}/admin/api/otp`, { method: 'POST', headers: provAdmin, body: JSON.stringify(body) });

/** Enrols a device through EST simpleenroll with `otp`; its id. */
async function enrolWith(otp: string): Promise<string> {
  const res = await exports.default.fetch(`${BASE}/.well-known/est/simpleenroll`, { method: 'POST', headers: { Authorization: `Bearer ${otp}` }, body: base64Body(await buildCsr(await generateDeviceKey(), { serial: 'SN-ORG' })) });
  expect(res.status).toBe(200);
  const [der] = parseCertsOnlyPkcs7(new TextDecoder().decode(await res.arrayBuffer()));
  return new x509.X509Certificate(der ?? new Uint8Array()).subjectName.getField('CN')[0] ?? '';
}

/** An enrolled, online, unclaimed device and a live claim code for it (as the tunnel would have pushed it). */
async function claimable() {
  const device = await seedDevice({ members: [], online: true, certificate: true });
  await db().update(devices).set({ status: 'unclaimed' }).where(eq(devices.id, device.id));
  const { code } = await issueClaimCode(database(env.DB), device.id, { ttlSeconds: 300 });
  return { id: device.id, code };
}
let ipCounter = 1;
const claim = (token: string, body: unknown) => call('/api/devices/claim', token, { ...json('POST', body), headers: { 'content-type': 'application/json', 'CF-Connecting-IP': `198.51.100.${100 + ipCounter++}` } });

describe('POST /admin/api/otp {orgId}: enrolment into an organisation', () => {
  it('puts the device the OTP enrols into the organisation, audited, in the enrolment transaction', async () => {
    const owner = await apiUser();
    const org = await createOrg(owner.token);
    const res = await issueOtp({ orgId: org.id, note: 'line 3' });
    expect(res.status).toBe(201);
    const issued = (await res.json()) as { id: string; otp: string; orgId: string };
    expect(issued.orgId).toBe(org.id);
    expect((await db().select().from(auditLog).where(and(eq(auditLog.action, 'otp.create'), eq(auditLog.target, issued.id))))[0]?.detail).toMatchObject({ orgId: org.id });
    const deviceId = await enrolWith(issued.otp);
    expect(await orgOfDevice(database(env.DB), deviceId)).toBe(org.id);
    const audit = await db().select().from(auditLog).where(and(eq(auditLog.action, 'org.device_assign'), eq(auditLog.target, org.id)));
    expect(audit.map((r) => [r.actor, r.detail])).toEqual([['prov-admin', { deviceId, otp: issued.id }]]);
    // The organisation's owner now sees the device through the organisation role (owner → admin on the device).
    const seen = await call(`/api/devices/${deviceId}`, owner.token);
    expect(seen.status).toBe(200);
    expect(await seen.json()).toMatchObject({ id: deviceId, role: 'admin' });
  });

  it('refuses an unknown orgId with a 400 naming the field; an OTP without one enrols a device in no organisation', async () => {
    const res = await issueOtp({ orgId: 'no-such-org' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [{ path: 'orgId', message: 'no such organisation' }] });
    const plain = (await (await issueOtp({})).json()) as { otp: string; orgId: null };
    expect(plain.orgId).toBeNull();
    expect(await orgOfDevice(database(env.DB), await enrolWith(plain.otp))).toBeNull();
  });
});

describe('POST /api/devices/claim {orgId}: a member claims a device into the organisation', () => {
  it('makes the caller owner and the device the organisation’s, audited; other members see it by their org role', async () => {
    const [owner, member] = await Promise.all([apiUser(), apiUser()]);
    const org = await createOrg(owner.token);
    await addMember(owner.token, org.id, member.user.id, 'member');
    const device = await claimable();
    const res = await claim(member.token, { claimCode: device.code, orgId: org.id });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ id: device.id, role: 'owner', status: 'claimed' });
    expect(await rolesOf(device.id)).toEqual({ [member.user.id]: 'owner' });
    expect(await orgOfDevice(database(env.DB), device.id)).toBe(org.id);
    const audit = await db().select().from(auditLog).where(and(eq(auditLog.action, 'org.device_assign'), eq(auditLog.target, org.id)));
    expect(audit.map((r) => [r.actor, r.detail])).toEqual([[member.user.id, { deviceId: device.id, via: 'claim' }]]);
    const list = (await (await call('/api/devices', owner.token)).json()) as { devices: { id: string; role: string }[] };
    expect(list.devices).toEqual([expect.objectContaining({ id: device.id, role: 'admin' })]);
  });

  it('refuses non-members (404, code not consumed) and devices already in another organisation (generic 400)', async () => {
    const [owner, outsider] = await Promise.all([apiUser(), apiUser()]);
    const [org, other] = [await createOrg(owner.token), await createOrg(owner.token)];
    const device = await claimable();
    expect((await claim(outsider.token, { claimCode: device.code, orgId: org.id })).status).toBe(404);
    expect(await rolesOf(device.id)).toEqual({});
    await assignDeviceToOrg(database(env.DB), device.id, other.id, { actor: 'prov-admin' });
    const res = await claim(owner.token, { claimCode: device.code, orgId: org.id });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: 'urn:gatehouse:problem:claim-failed' });
    expect(await rolesOf(device.id)).toEqual({});
    expect(await orgOfDevice(database(env.DB), device.id)).toBe(other.id);
    // Into its own organisation it can be claimed.
    const ok = await claim(owner.token, { claimCode: device.code, orgId: other.id });
    expect(ok.status).toBe(200);
    expect(await rolesOf(device.id)).toEqual({ [owner.user.id]: 'owner' });
  });
});

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
