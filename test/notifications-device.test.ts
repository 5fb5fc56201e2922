import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { env, exports } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { SignJWT, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildCsr, generateDeviceKey } from '../agent/csr.ts';
import { createDeviceJwt, x5cFor } from '../agent/device-jwt.ts';
import { bytesToBase64Url } from '../lib/encoding.ts';
import { encodePem } from '../lib/pki/pem.ts';
import { base64Body, parseCertsOnlyPkcs7 } from '../lib/pki/pkcs7.ts';
import { deliveries, devices } from '../schema/index.ts';
import { keyRing } from '../workers/auth/keys.ts';
import { BASE, callWith, expectBearerError, expectProblem, ISSUER, json } from './gateway.test-fixture.ts';
import { deviceWithUsers } from './notifications.test-fixture.ts';
import { db } from './support/auth-fixtures.ts';

const PATH = '/device-api/v1/notifications';
const BODY = { title: 'Door opened', body: 'Front door, 02:14', severity: 'normal', data: { door: 'front' } };

/** A device token as the tunnel pushes it: signed by the platform key ring, `aud` device-api. */
async function deviceToken(deviceId: string, claims: JWTPayload = {}, ttl = 300) {
  const ring = await keyRing(env.JWT_SIGNING_KEYS);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, sub: deviceId, aud: 'device-api', iat: now, exp: now + ttl, token_use: 'device', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: ring.signer.kid, typ: 'JWT' })
    .sign(ring.signer.privateKey);
}

/** A recording stand-in for the NOTIFICATIONS producer binding. */
function recordingQueue() {
  const sent: { body: unknown; options: unknown }[] = [];
  return { sent, binding: { send: async (body: unknown, options: unknown) => void sent.push({ body, options }) } };
}

const postAs = (token: string | null, body: unknown, vars: Record<string, unknown> = {}) => callWith(vars, PATH, token, json('POST', body));

describe('POST /device-api/v1/notifications: authentication', () => {
  it('accepts a device token, enqueues ONE message and answers 202 with its id', async () => {
    const { device } = await deviceWithUsers(['owner']);
    const queue = recordingQueue();
    const res = await postAs(await deviceToken(device.id), BODY, { NOTIFICATIONS: queue.binding });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect(queue.sent).toEqual([{ body: { v: 1, id, deviceId: device.id, createdAt: expect.any(Number), payload: BODY }, options: { contentType: 'json' } }]);
  });

  it('refuses missing, foreign, user, long-lived, wrong-audience and revoked credentials with 401 invalid_token', async () => {
    const { device } = await deviceWithUsers(['owner']);
    const queue = { NOTIFICATIONS: recordingQueue().binding };
    await expectBearerError(await postAs(null, BODY, queue), 401, 'invalid_token');
    await expectBearerError(await postAs('not-a-jwt', BODY, queue), 401, 'invalid_token');
    await expectBearerError(await postAs(await deviceToken(device.id, { aud: 'someone-else' }), BODY, queue), 401, 'invalid_token');
    await expectBearerError(await postAs(await deviceToken(device.id, { token_use: 'access' }), BODY, queue), 401, 'invalid_token');
    await expectBearerError(await postAs(await deviceToken(device.id, {}, 7200), BODY, queue), 401, 'invalid_token');
    await expectBearerError(await postAs(await deviceToken(crypto.randomUUID()), BODY, queue), 401, 'invalid_token');
    await expectBearerError(await postAs(await deviceToken(device.id, { 'cnf': { 'x5t#S256': bytesToBase64Url(new Uint8Array(32)) } }), BODY, queue), 401, 'invalid_token');
    const foreign = await new SignJWT({ sub: device.id, aud: 'device-api', iss: ISSUER })
      .setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new Uint8Array(32));
    await expectBearerError(await postAs(foreign, BODY, queue), 401, 'invalid_token');
    await db().update(devices).set({ status: 'revoked' }).where(eq(devices.id, device.id));
    await expectBearerError(await postAs(await deviceToken(device.id), BODY, queue), 401, 'invalid_token');
  });

  it('accepts the device’s own x5c JWT (aud device-api) once, as for EST: a replay is refused', async () => {
    const otp = (await (await exports.default.fetch(`${BASE}/admin/api/otp`, { method: 'POST', headers: { Authorization: `PROV-ADMIN ${env.PROV_ADMIN_API_KEY}` } })).json()) as { otp: string };
    const keys = await generateDeviceKey();
    const enrolled = await exports.default.fetch(`${BASE}/.well-known/est/simpleenroll`, { method: 'POST', headers: { Authorization: `Bearer ${otp.otp}` }, body: base64Body(await buildCsr(keys)) });
    expect(enrolled.status).toBe(200);
    const [der] = parseCertsOnlyPkcs7(new TextDecoder().decode(await enrolled.arrayBuffer()));
    const cert = new x509.X509Certificate(der ?? new Uint8Array());
    const chain = parseCertsOnlyPkcs7(new TextDecoder().decode(await (await exports.default.fetch(`${BASE}/.well-known/est/cacerts`)).arrayBuffer()));
    const deviceId = cert.subjectName.getField('CN')[0] ?? '';
    const jwt = await createDeviceJwt({ privateKey: keys.privateKey, x5c: x5cFor(cert.toString('pem'), chain.map((c) => encodePem(c, 'CERTIFICATE')).join('')), deviceId, audience: 'device-api' });
    const queue = recordingQueue();
    expect((await postAs(jwt, BODY, { NOTIFICATIONS: queue.binding })).status).toBe(202);
    expect(queue.sent[0]?.body).toMatchObject({ deviceId });
    await expectBearerError(await postAs(jwt, BODY, { NOTIFICATIONS: queue.binding }), 401, 'invalid_token');
    const wrongAudience = await createDeviceJwt({ privateKey: keys.privateKey, x5c: x5cFor(cert.toString('pem'), chain.map((c) => encodePem(c, 'CERTIFICATE')).join('')), deviceId, audience: 'https://elsewhere' });
    await expectBearerError(await postAs(wrongAudience, BODY, { NOTIFICATIONS: queue.binding }), 401, 'invalid_token');
  });
});

describe('POST /device-api/v1/notifications: body and limits', () => {
  it('validates the body field by field and refuses what cannot fit a push message', async () => {
    const { device } = await deviceWithUsers(['owner']);
    const token = await deviceToken(device.id);
    const queue = { NOTIFICATIONS: recordingQueue().binding };
    const cases: [unknown, string][] = [
      [{ ...BODY, severity: 'urgent' }, 'severity'],
      [{ title: 'x', body: 'y' }, 'severity'],
      [{ ...BODY, title: '' }, 'title'],
      [{ ...BODY, data: { blob: 'x'.repeat(3000) } }, 'data'],
      [{ ...BODY, extra: true }, 'json'],
    ];
    for (const [body, path] of cases) {
      const problem = await expectProblem(await postAs(token, body, queue), 400);
      expect(problem.errors?.map((e) => e.path).join(','), JSON.stringify(body).slice(0, 60)).toContain(path);
    }
    const big = { ...BODY, title: '€'.repeat(200), body: '€'.repeat(1000), data: { t: '€'.repeat(600) } };
    expect((await expectProblem(await postAs(token, big, queue), 413)).type).toBe('urn:gatehouse:problem:too-large');
  });

  it('limits each device to NOTIFY_RATE_LIMIT_PER_DEVICE with 429 and Retry-After', async () => {
    const { device } = await deviceWithUsers(['owner']);
    const vars = { NOTIFICATIONS: recordingQueue().binding, NOTIFY_RATE_LIMIT_PER_DEVICE: '2/60' };
    expect((await postAs(await deviceToken(device.id), BODY, vars)).status).toBe(202);
    expect((await postAs(await deviceToken(device.id), BODY, vars)).status).toBe(202);
    const limited = await postAs(await deviceToken(device.id), BODY, vars);
    expect((await expectProblem(limited, 429)).type).toBe('urn:gatehouse:problem:rate-limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('goes through the real NOTIFICATIONS queue to the Worker’s queue() consumer', async () => {
    const { device, people } = await deviceWithUsers(['viewer']);
    const sub = await callWith({}, '/api/notifications/subscriptions', people[0]!.token, json('POST', { url: 'http://127.0.0.1:1/unreachable' }));
    const { id: subscriptionId } = (await sub.json()) as { id: string };
    const res = await exports.default.fetch(`${BASE}${PATH}`, { method: 'POST', headers: { Authorization: `Bearer ${await deviceToken(device.id)}`, 'Content-Type': 'application/json' }, body: JSON.stringify(BODY) });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    let row: typeof deliveries.$inferSelect | undefined;
    for (let i = 0; i < 100 && !row; i++) {
      await new Promise((r) => setTimeout(r, 100));
      row = await db().query.deliveries.findFirst({ where: eq(deliveries.messageId, id) });
    }
    expect(row).toMatchObject({ subscriptionId, status: 'retrying', attempts: 1, lastError: 'network error' });
  });
});
