import { runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { bytesToBase64Url } from '../lib/encoding.ts';
import { CloseCode, TUNNEL_SUBPROTOCOL, encodeFrame, type DecodedFrame } from '../lib/tunnel/index.ts';
import { claimCodes, deviceCertificates, deviceConnections, deviceEvents } from '../schema/index.ts';
import { keyRing } from '../workers/auth/keys.ts';
import { claimCodeHash, normalizeClaimCode } from '../workers/devices/claim-code.ts';
import { tunnelConfig } from '../workers/devices/config.ts';
import { liveSocket, onAlarm, tunnelContext, type Tunnel } from '../durable-objects/tunnel/lifecycle.ts';
import { readPresence, updatePresence } from '../durable-objects/tunnel/presence.ts';
import { db } from './support/auth-fixtures.ts';
import { BASE, connectAgent, connectJwt, connectRaw, enrolDevice, eventually, revokeDevice } from './tunnel.test-fixture.ts';

const connection = (deviceId: string) => db().query.deviceConnections.findFirst({ where: eq(deviceConnections.deviceId, deviceId) });
const events = (deviceId: string) => db().select().from(deviceEvents).where(eq(deviceEvents.deviceId, deviceId)).orderBy(deviceEvents.id);

async function expectRefused(res: Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.webSocket).toBeNull();
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return (await res.json()) as { detail: string; type: string };
}

describe('GET /devices/connect: authentication before the upgrade', () => {
  it('refuses a missing, foreign-audience, replayed or revoked credential without upgrading', async () => {
    const device = await enrolDevice();
    expect((await expectRefused(await connectRaw({}), 401)).type).toBe('urn:gatehouse:problem:device-auth');
    await expectRefused(await connectRaw({ Authorization: 'Bearer not.a.jwt' }), 401);
    await expectRefused(await connectRaw({ Authorization: `Bearer ${await connectJwt(device, `${env.PUBLIC_URL}/.well-known/est/simplereenroll`)}` }), 401);

    const jwt = await connectJwt(device);
    const first = await connectRaw({ Authorization: `Bearer ${jwt}` });
    expect(first.status).toBe(101);
    first.webSocket?.accept();
    first.webSocket?.close(1000, 'done');
    expect((await expectRefused(await connectRaw({ Authorization: `Bearer ${jwt}` }), 401)).detail).toBe('device token already used');

    await revokeDevice(device.deviceId);
    expect((await expectRefused(await connectRaw({ Authorization: `Bearer ${await connectJwt(device)}` }), 403)).detail).toBe('device certificate revoked');
  });

  it('needs a WebSocket upgrade (426) offering the tunnel subprotocol (400); nothing is consumed before that', async () => {
    const device = await enrolDevice();
    const jwt = await connectJwt(device);
    await expectRefused(await connectRaw({ Upgrade: '', Authorization: `Bearer ${jwt}` }), 426);
    await expectRefused(await connectRaw({ 'Sec-WebSocket-Protocol': 'chat', Authorization: `Bearer ${jwt}` }), 400);
    const ok = await connectRaw({ 'Sec-WebSocket-Protocol': `other, ${TUNNEL_SUBPROTOCOL}`, Authorization: `Bearer ${jwt}` });
    expect(ok.status).toBe(101);
    expect(ok.headers.get('sec-websocket-protocol')).toBe(TUNNEL_SUBPROTOCOL);
    ok.webSocket?.accept();
    ok.webSocket?.close(1000);
  });
});

describe('GET /devices/connect with Cloudflare mTLS (request.cf.tlsClientAuth)', () => {
  const viaMtls = (fingerprint: string, certVerified = 'SUCCESS') =>
    exports.default.fetch(`${BASE}/devices/connect`, {
      headers: { Upgrade: 'websocket', 'Sec-WebSocket-Protocol': TUNNEL_SUBPROTOCOL },
      cf: { tlsClientAuth: { certPresented: '1', certVerified, certFingerprintSHA256: fingerprint } },
    });

  it('accepts a certificate the edge verified, matched by fingerprint, and refuses an unverified or revoked one', async () => {
    const device = await enrolDevice();
    const cert = await db().query.deviceCertificates.findFirst({ where: eq(deviceCertificates.deviceId, device.deviceId) });
    const fingerprint = (cert?.fingerprint ?? '').toUpperCase().match(/../g)?.join(':') ?? '';
    await expectRefused(await viaMtls(fingerprint, 'FAILED:unable to verify the first certificate'), 401);
    const ok = await viaMtls(fingerprint);
    expect(ok.status).toBe(101);
    ok.webSocket?.accept();
    await eventually(async () => (await events(device.deviceId)).find((e) => e.type === 'connected'));
    expect((await events(device.deviceId)).find((e) => e.type === 'connected')?.detail).toMatchObject({ method: 'mtls', certificateSerial: cert?.serial });
    ok.webSocket?.close(1000);
    await revokeDevice(device.deviceId);
    expect((await expectRefused(await viaMtls(fingerprint), 403)).detail).toBe('device certificate revoked');
  });
});

describe('a connected device', () => {
  it('gets config first, then a device token bound to its certificate and a claim code stored only as a hash', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device);
    const first = await agent.next((f): f is DecodedFrame => f.type === 'control');
    expect(first).toMatchObject({ type: 'control', message: { type: 'config', settings: { maxConcurrentStreams: 64, initialWindow: 256 * 1024 }, pingIntervalSeconds: 15, pingTimeoutSeconds: 10 } });

    const { token, expiresAt } = await agent.control('device_token');
    const { payload } = await jwtVerify(token, createLocalJWKSet((await keyRing(env.JWT_SIGNING_KEYS)).jwks), { audience: 'device-api', issuer: env.ISSUER });
    expect(payload.sub).toBe(device.deviceId);
    expect(payload.exp).toBe(expiresAt);
    expect(expiresAt - Math.floor(Date.now() / 1000)).toBeGreaterThan(800);
    const cert = await db().query.deviceCertificates.findFirst({ where: eq(deviceCertificates.deviceId, device.deviceId) });
    const fingerprint = new Uint8Array((cert?.fingerprint.match(/../g) ?? []).map((h) => parseInt(h, 16)));
    expect(payload.cnf).toEqual({ 'x5t#S256': bytesToBase64Url(fingerprint) });

    const claim = await agent.control('claim_code');
    expect(claim.code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    const rows = await db().select().from(claimCodes).where(eq(claimCodes.deviceId, device.deviceId));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.codeHash).toBe(await claimCodeHash(claim.code));
    expect(rows[0]?.codeHash).not.toContain(normalizeClaimCode(claim.code));
    expect(Math.round(((rows[0]?.expiresAt ?? 0) - Date.now()) / 60_000)).toBe(30);
    expect(claim.expiresAt).toBe(Math.floor((rows[0]?.expiresAt ?? 0) / 1000));
    agent.close();
  });

  it('records online state and the connect event, the agent version from hello, and offline on close', async () => {
    const device = await enrolDevice();
    const before = Date.now();
    const agent = await connectAgent(device);
    expect(await connection(device.deviceId)).toMatchObject({ online: true, remoteAddr: null });
    expect((await connection(device.deviceId))?.since).toBeGreaterThanOrEqual(before);
    await eventually(async () => (await connection(device.deviceId))?.agentVersion === '9.9.9-test');
    expect((await events(device.deviceId)).map((e) => e.type)).toEqual(['enrolled', 'connected']);

    agent.close(1000, 'shutting down');
    await eventually(async () => (await connection(device.deviceId))?.online === false);
    const all = await events(device.deviceId);
    expect(all.map((e) => e.type)).toEqual(['enrolled', 'connected', 'disconnected']);
    expect(all[2]?.detail).toMatchObject({ code: 1000, reason: 'shutting down' });
  });

  it('answers the text heartbeat with pong (the runtime auto-response)', async () => {
    const agent = await connectAgent(await enrolDevice());
    agent.ws.send('ping');
    await eventually(async () => agent.texts.includes('pong'));
    agent.close();
  });

  it('derives last seen from the heartbeat auto-response timestamp, with no storage write per heartbeat or per healthy alarm', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device);
    await agent.control('device_token');
    const stub = env.DEVICE_TUNNEL.get(env.DEVICE_TUNNEL.idFromName(device.deviceId));
    const presence = () => runInDurableObject(stub, (_instance, state) => readPresence(state.storage));
    const before = await presence();
    await new Promise((r) => setTimeout(r, 100));
    agent.ws.send('ping');
    await eventually(async () => agent.texts.includes('pong'));
    expect((await presence())?.lastSeen).toBe(before?.lastSeen);
    const { heartbeatAt, alarm } = await runInDurableObject(stub, async (instance, state) => {
      const t = (instance as unknown as { tunnel: Tunnel }).tunnel;
      const ws = liveSocket(t);
      const at = ws && state.getWebSocketAutoResponseTimestamp(ws);
      await onAlarm(t);
      return { heartbeatAt: at?.getTime() ?? NaN, alarm: await state.storage.getAlarm() };
    });
    expect(heartbeatAt).toBeGreaterThanOrEqual((before?.lastSeen ?? Infinity) + 90);
    // The next liveness check counts from the heartbeat, and the healthy alarm wrote nothing else.
    expect(alarm).toBe(heartbeatAt + tunnelConfig(env).deadAfterMs + 1000);
    expect((await presence())?.lastSeen).toBe(before?.lastSeen);
    agent.close();
  });

  it('is closed with 4003 and marked offline when the certificate it connected with is revoked', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device);
    await agent.control('device_token');
    await revokeDevice(device.deviceId);
    expect((await agent.waitClosed())?.code).toBe(CloseCode.REVOKED);
    expect(await connection(device.deviceId)).toMatchObject({ online: false });
    const last = (await events(device.deviceId)).filter((e) => e.type === 'disconnected').at(-1);
    expect(last?.detail).toMatchObject({ code: CloseCode.REVOKED, reason: 'certificate revoked' });
    expect((await expectRefused(await connectRaw({ Authorization: `Bearer ${await connectJwt(device)}` }), 403)).detail).toBe('device certificate revoked');
  });

  it('refreshes the device token and the claim code from the alarm when they fall due, while the device stays connected', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device);
    const firstToken = await agent.control('device_token');
    const firstCode = await agent.control('claim_code');
    const stub = env.DEVICE_TUNNEL.get(env.DEVICE_TUNNEL.idFromName(device.deviceId));
    const due = await runInDurableObject(stub, async (instance, state) => {
      const presence = await readPresence(state.storage);
      // Two thirds of the token's lifetime from now, and the code's expiry, as pushCredentials scheduled them.
      const scheduled = { tokenRefreshAt: presence?.tokenRefreshAt, claimCodeExpiresAt: presence?.claimCodeExpiresAt };
      await updatePresence(state.storage, presence?.connectionId ?? '', { tokenRefreshAt: Date.now() - 1, claimCodeExpiresAt: Date.now() });
      await onAlarm((instance as unknown as { tunnel: Tunnel }).tunnel);
      return scheduled;
    });
    expect(Math.round(((due.tokenRefreshAt ?? 0) - Date.now()) / 60_000)).toBe(10);
    expect(Math.floor((due.claimCodeExpiresAt ?? 0) / 1000)).toBe(firstCode.expiresAt);
    const tokens = async () => agent.frames.filter((f) => f.type === 'control' && f.message.type === 'device_token');
    await eventually(async () => (await tokens()).length === 2);
    const codes = agent.frames.flatMap((f) => (f.type === 'control' && f.message.type === 'claim_code' ? [f.message.code] : []));
    expect(codes).toHaveLength(2);
    expect(codes[1]).not.toBe(firstCode.code);
    const second = (await tokens())[1];
    expect(second?.type === 'control' && second.message.type === 'device_token' && second.message.token).not.toBe(firstToken.token);
    // Only the new code is live in D1.
    const rows = await db().select().from(claimCodes).where(eq(claimCodes.deviceId, device.deviceId));
    expect(rows.map((r) => r.codeHash)).toEqual([await claimCodeHash(codes[1] ?? '')]);
    agent.close();
  });

  it('is replaced by a second connection: the first is closed with 4000 and the device stays online', async () => {
    const device = await enrolDevice();
    const first = await connectAgent(device);
    const second = await connectAgent(device);
    expect((await first.waitClosed())?.code).toBe(CloseCode.REPLACED);
    expect(first.frames.some((f) => f.type === 'goaway')).toBe(true);
    expect(second.closed()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 50));
    expect((await connection(device.deviceId))?.online).toBe(true);
    const types = (await events(device.deviceId)).map((e) => e.type);
    expect(types).toEqual(['enrolled', 'connected', 'replaced', 'connected']);

    second.close();
    await eventually(async () => (await connection(device.deviceId))?.online === false);
  });

  it('closes the socket with a protocol error (GOAWAY, 1002) on garbage, without harming the object', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device);
    agent.ws.send(new Uint8Array([1, 2, 3]));
    expect((await agent.waitClosed())?.code).toBe(CloseCode.PROTOCOL_ERROR);
    const goaway = agent.frames.find((f) => f.type === 'goaway');
    expect(goaway).toMatchObject({ type: 'goaway', code: 1 });
    await eventually(async () => (await connection(device.deviceId))?.online === false);
    const again = await connectAgent(device);
    await again.control('device_token');
    again.ws.send(encodeFrame({ type: 'control', message: { type: 'claimed' } }));
    expect((await again.waitClosed())?.code).toBe(CloseCode.PROTOCOL_ERROR);
  });

  it('closes a silent socket from the alarm (4002) and marks the device offline', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device);
    await agent.control('device_token');
    const quick = { ...env, TUNNEL_PING_INTERVAL_SECONDS: '1', TUNNEL_PING_TIMEOUT_SECONDS: '1', TUNNEL_DEAD_AFTER_SECONDS: '2' } as Env;
    await new Promise((r) => setTimeout(r, 2200));
    const stub = env.DEVICE_TUNNEL.get(env.DEVICE_TUNNEL.idFromName(device.deviceId));
    await runInDurableObject(stub, (_instance, state) => onAlarm(tunnelContext(state, quick)));
    expect((await agent.waitClosed())?.code).toBe(CloseCode.HEARTBEAT_TIMEOUT);
    expect(await connection(device.deviceId)).toMatchObject({ online: false });
    const last = (await db().select().from(deviceEvents).where(and(eq(deviceEvents.deviceId, device.deviceId), eq(deviceEvents.type, 'disconnected'))))[0];
    expect(last?.detail).toMatchObject({ code: CloseCode.HEARTBEAT_TIMEOUT });
  });
});
