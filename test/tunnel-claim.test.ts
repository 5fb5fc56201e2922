import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { claimCodes, deviceConnections, deviceEvents, devices } from '../schema/index.ts';
import { claimCodeHash, generateClaimCode, normalizeClaimCode } from '../workers/devices/claim-code.ts';
import { rolesOf } from './api.test-fixture.ts';
import { call, callWith, expectBearerError, expectProblem, json, signIn } from './gateway.test-fixture.ts';
import { db } from './support/auth-fixtures.ts';
import { connectAgent, enrolDevice, eventually } from './tunnel.test-fixture.ts';

const GENERIC = 'The claim code is not valid, has expired, or its device cannot be claimed right now (it must be online and unclaimed).';
let ipCounter = 1;
const freshIp = () => `198.51.100.${ipCounter++}`;
const claim = (token: string | null, claimCode: unknown, ip = freshIp()) => call('/api/devices/claim', token, { ...json('POST', { claimCode }), headers: { 'content-type': 'application/json', 'CF-Connecting-IP': ip } });

async function expectGenericFailure(res: Response) {
  const problem = await expectProblem(res, 400);
  expect(problem).toMatchObject({ type: 'urn:gatehouse:problem:claim-failed', detail: GENERIC });
}

/** An enrolled, connected, unclaimed device and the claim code it was pushed. */
async function onlineUnclaimed() {
  const device = await enrolDevice();
  const agent = await connectAgent(device);
  const { code } = await agent.control('claim_code');
  return { device, agent, code };
}

describe('claim codes', () => {
  it('are 10 Crockford symbols, read forgivingly (case, dashes, spaces, I/L/O), and hashed', async () => {
    const codes = new Set(Array.from({ length: 200 }, generateClaimCode));
    expect(codes.size).toBe(200);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(normalizeClaimCode(' k7qf9-3mzx2 ')).toBe('K7QF93MZX2');
    expect(normalizeClaimCode('IL0O0-11111')).toBe('1100011111');
    expect(normalizeClaimCode('K7QF9-3MZX')).toBeNull();
    expect(normalizeClaimCode('K7QF9-3MZXU')).toBeNull();
    expect(await claimCodeHash('k7qf9 3mzx2')).toBe(await claimCodeHash('K7QF9-3MZX2'));
    expect(await claimCodeHash('nope')).toBeNull();
  });
});

describe('POST /api/devices/claim', () => {
  it('makes the caller the owner, consumes the code, records the event and tells the device', async () => {
    const me = await signIn();
    const { device, agent, code } = await onlineUnclaimed();
    const res = await claim(me.access, code.toLowerCase().replace('-', ' '));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: device.deviceId, status: 'claimed', role: 'owner', connection: { online: true } });
    expect(await rolesOf(device.deviceId)).toEqual({ [me.user.id]: 'owner' });
    expect((await db().query.devices.findFirst({ where: eq(devices.id, device.deviceId) }))?.status).toBe('claimed');
    const [row] = await db().select().from(claimCodes).where(eq(claimCodes.deviceId, device.deviceId));
    expect(row?.usedAt).toBeGreaterThan(0);
    const [event] = await db().select().from(deviceEvents).where(and(eq(deviceEvents.deviceId, device.deviceId), eq(deviceEvents.type, 'claimed')));
    expect(event?.detail).toMatchObject({ by: me.user.id });
    expect(await agent.control('claimed')).toEqual({ type: 'claimed', ownerId: me.user.id });

    const other = await signIn();
    await expectGenericFailure(await claim(other.access, code));
    expect(await rolesOf(device.deviceId)).toEqual({ [me.user.id]: 'owner' });
    agent.close();
  });

  it('gives one generic failure for an unknown, malformed, expired or offline code', async () => {
    const me = await signIn();
    await expectGenericFailure(await claim(me.access, generateClaimCode()));
    await expectGenericFailure(await claim(me.access, 'not a code'));

    const expired = await onlineUnclaimed();
    await db().update(claimCodes).set({ expiresAt: Date.now() - 1 }).where(eq(claimCodes.deviceId, expired.device.deviceId));
    await expectGenericFailure(await claim(me.access, expired.code));
    expired.agent.close();

    const offline = await onlineUnclaimed();
    offline.agent.close();
    await eventually(async () => (await db().query.deviceConnections.findFirst({ where: eq(deviceConnections.deviceId, offline.device.deviceId) }))?.online === false);
    await expectGenericFailure(await claim(me.access, offline.code));
    // The failed attempts consumed nothing.
    expect((await db().select().from(claimCodes).where(eq(claimCodes.deviceId, offline.device.deviceId)))[0]?.usedAt).toBeNull();
  });

  it('lets exactly one of two simultaneous claims of a code win', async () => {
    const a = await signIn();
    const b = await signIn();
    const { device, agent, code } = await onlineUnclaimed();
    const [ra, rb] = await Promise.all([claim(a.access, code), claim(b.access, code)]);
    expect([ra.status, rb.status].sort()).toEqual([200, 400]);
    expect(Object.values(await rolesOf(device.deviceId))).toEqual(['owner']);
    agent.close();
  });

  it('gives a reconnecting device a fresh code and invalidates the old one', async () => {
    const me = await signIn();
    const first = await onlineUnclaimed();
    const second = await connectAgent(first.device);
    const { code } = await second.control('claim_code');
    expect(code).not.toBe(first.code);
    await expectGenericFailure(await claim(me.access, first.code));
    expect((await claim(me.access, code)).status).toBe(200);
    second.close();
  });

  it('needs a user token (401) and a claimCode (400)', async () => {
    await expectBearerError(await claim(null, 'K7QF9-3MZX2'), 401, 'invalid_token');
    const me = await signIn();
    const bad = await expectProblem(await call('/api/devices/claim', me.access, json('POST', {})), 400);
    expect(bad.errors?.[0]?.path).toBe('claimCode');
  });

  it('limits attempts per user and per IP (429 with Retry-After)', async () => {
    const me = await signIn();
    const limits = { CLAIM_RATE_LIMIT_PER_USER: '3/900', CLAIM_RATE_LIMIT_PER_IP: '5/900' };
    const attempt = (token: string, ip: string) =>
      callWith(limits, '/api/devices/claim', token, { ...json('POST', { claimCode: generateClaimCode() }), headers: { 'content-type': 'application/json', 'CF-Connecting-IP': ip } });
    for (let i = 0; i < 3; i++) expect((await attempt(me.access, freshIp())).status).toBe(400);
    const limited = await attempt(me.access, freshIp());
    await expectProblem(limited, 429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

    const ip = freshIp();
    for (let i = 0; i < 5; i++) expect((await attempt((await signIn()).access, ip)).status).toBe(400);
    await expectProblem(await attempt((await signIn()).access, ip), 429);
  });
});
