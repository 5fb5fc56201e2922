import { env } from 'cloudflare:workers';
import { desc, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog, devices } from '../schema/index.ts';
import { verifyDeviceAccessToken } from '../workers/gateway/device-access.ts';
import { certificatesOf, rolesOf, seedDevice } from './api.test-fixture.ts';
import { db } from './support/auth-fixtures.ts';
import { call, callWith, expectBearerError, expectProblem, json, signIn } from './gateway.test-fixture.ts';

type Device = { id: string; name: string; status: string; role: string; connection: { online: boolean; since: string | null; agentVersion: string | null }; settings?: unknown };

describe('GET /api/devices', () => {
  it('lists only the caller’s devices, with role and live connection status, a page at a time', async () => {
    const me = await signIn();
    const other = await signIn();
    const a = await seedDevice({ members: [[me.user.id, 'owner']], online: true });
    const b = await seedDevice({ members: [[me.user.id, 'viewer'], [other.user.id, 'owner']], online: false });
    const c = await seedDevice({ members: [[me.user.id, 'operator']] });
    await seedDevice({ members: [[other.user.id, 'owner']], online: true });
    const res = await call('/api/devices', me.access);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { devices: Device[]; next: string | null };
    const byId = Object.fromEntries(body.devices.map((d) => [d.id, d]));
    expect(Object.keys(byId).sort()).toEqual([a.id, b.id, c.id].sort());
    expect(byId[a.id]).toMatchObject({ role: 'owner', status: 'claimed', connection: { online: true, agentVersion: '1.2.3' }, settings: { interval: 30 } });
    expect(byId[b.id]).toMatchObject({ role: 'viewer', connection: { online: false } });
    expect(byId[b.id]).not.toHaveProperty('settings');
    expect(byId[c.id]).toMatchObject({ role: 'operator', connection: { online: false, since: null } });
    expect(body.next).toBeNull();

    const first = (await (await call('/api/devices?limit=2', me.access)).json()) as { devices: Device[]; next: string };
    expect(first.devices).toHaveLength(2);
    const rest = (await (await call(`/api/devices?limit=2&after=${first.next}`, me.access)).json()) as { devices: Device[]; next: null };
    expect([...first.devices, ...rest.devices].map((d) => d.id).sort()).toEqual([a.id, b.id, c.id].sort());
    expect(rest.next).toBeNull();
  });

  it('validates the query (400 with the field) and needs a token (401)', async () => {
    const me = await signIn();
    const bad = await expectProblem(await call('/api/devices?limit=0', me.access), 400);
    expect(bad.errors?.[0]?.path).toBe('limit');
    await expectBearerError(await call('/api/devices', null), 401, 'invalid_token');
  });
});

describe('GET|PATCH|DELETE /api/devices/:deviceId', () => {
  it('shows a device to any role, and hides devices the caller has no role on (404)', async () => {
    const me = await signIn();
    const stranger = await signIn();
    const d = await seedDevice({ members: [[me.user.id, 'viewer']], online: true });
    expect(((await (await call(`/api/devices/${d.id}`, me.access)).json()) as Device).role).toBe('viewer');
    await expectProblem(await call(`/api/devices/${d.id}`, stranger.access), 404);
    const bad = await expectProblem(await call('/api/devices/bad%20id!', me.access), 400);
    expect(bad.errors?.[0]?.path).toBe('deviceId');
  });

  it('lets admins and the owner rename or reconfigure a device, not operators; writes an audit row', async () => {
    const owner = await signIn();
    const admin = await signIn();
    const operator = await signIn();
    const d = await seedDevice({ members: [[owner.user.id, 'owner'], [admin.user.id, 'admin'], [operator.user.id, 'operator']] });
    const res = await call(`/api/devices/${d.id}`, admin.access, json('PATCH', { name: 'Boiler room', settings: { interval: 5 } }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'Boiler room', settings: { interval: 5 }, role: 'admin' });
    const denied = await expectProblem(await call(`/api/devices/${d.id}`, operator.access, json('PATCH', { name: 'Mine' })), 403);
    expect(denied.type).toBe('urn:gatehouse:problem:device-role');
    const invalid = await expectProblem(await call(`/api/devices/${d.id}`, owner.access, json('PATCH', { name: '', colour: 'red' })), 400);
    expect(invalid.errors?.length).toBeGreaterThanOrEqual(2);
    const [audit] = await db().select().from(auditLog).where(eq(auditLog.target, d.id)).orderBy(desc(auditLog.id)).limit(1);
    expect(audit).toMatchObject({ actor: admin.user.id, action: 'device.update' });
  });

  it('lets only the owner delete: ownership is released and the certificates revoked (cessationOfOperation)', async () => {
    const owner = await signIn();
    const admin = await signIn();
    const d = await seedDevice({ members: [[owner.user.id, 'owner'], [admin.user.id, 'admin']], certificate: true });
    await expectProblem(await call(`/api/devices/${d.id}`, admin.access, { method: 'DELETE' }), 403);
    const res = await call(`/api/devices/${d.id}`, owner.access, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(await rolesOf(d.id)).toEqual({});
    const [cert] = await certificatesOf(d.id);
    expect(cert).toMatchObject({ status: 'revoked', revocationReason: 'cessationOfOperation' });
    expect((await db().query.devices.findFirst({ where: eq(devices.id, d.id) }))?.status).toBe('revoked');
    await expectProblem(await call(`/api/devices/${d.id}`, owner.access), 404);
    const actions = (await db().select().from(auditLog).where(eq(auditLog.target, d.id))).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['device.revoke', 'device.release']));
  });
});

describe('POST /api/devices/:deviceId/authorize (the Authorizer)', () => {
  it('gives operators and above a JWE device-access token for that device only', async () => {
    const me = await signIn();
    const d = await seedDevice({ members: [[me.user.id, 'operator']] });
    const res = await call(`/api/devices/${d.id}/authorize`, me.access, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { token, expiresIn, role } = (await res.json()) as { token: string; expiresIn: number; role: string };
    expect(token.split('.')).toHaveLength(5);
    expect(expiresIn).toBe(300);
    expect(role).toBe('operator');
    const access = await verifyDeviceAccessToken(env, token, d.id);
    expect(access).toMatchObject({ userId: me.user.id, deviceId: d.id, role: 'operator' });
    expect(access.expiresAt - Date.now() / 1000).toBeGreaterThan(290);
    await expect(verifyDeviceAccessToken(env, token, crypto.randomUUID())).rejects.toMatchObject({ status: 401, error: 'invalid_token' });
  });

  it('refuses viewers (403) and strangers (404), and refuses at once after access is revoked', async () => {
    const owner = await signIn();
    const viewer = await signIn();
    const operator = await signIn();
    const d = await seedDevice({ members: [[owner.user.id, 'owner'], [viewer.user.id, 'viewer'], [operator.user.id, 'operator']] });
    await expectProblem(await call(`/api/devices/${d.id}/authorize`, viewer.access, { method: 'POST' }), 403);
    await expectProblem(await call(`/api/devices/${d.id}/authorize`, (await signIn()).access, { method: 'POST' }), 404);
    expect((await call(`/api/devices/${d.id}/authorize`, operator.access, { method: 'POST' })).status).toBe(200);
    expect((await call(`/api/devices/${d.id}/users/${operator.user.id}`, owner.access, { method: 'DELETE' })).status).toBe(204);
    await expectProblem(await call(`/api/devices/${d.id}/authorize`, operator.access, { method: 'POST' }), 404);
  });

  it('honours AUTHZ_TOKEN_TTL_SECONDS and refuses revoked devices (409)', async () => {
    const me = await signIn();
    const d = await seedDevice({ members: [[me.user.id, 'owner']] });
    const res = await callWith({ AUTHZ_TOKEN_TTL_SECONDS: '60' }, `/api/devices/${d.id}/authorize`, me.access, { method: 'POST' });
    expect(((await res.json()) as { expiresIn: number }).expiresIn).toBe(60);
    await db().update(devices).set({ status: 'revoked' }).where(eq(devices.id, d.id));
    await expectProblem(await call(`/api/devices/${d.id}/authorize`, me.access, { method: 'POST' }), 409);
  });
});
