import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildCsr, generateDeviceKey } from '../agent/csr.ts';
import { createDeviceJwt, DEVICE_JWT_TYP, x5cFor } from '../agent/device-jwt.ts';
import { loadCa } from '../lib/pki/ca.ts';
import { generateCa } from '../lib/pki/dev-ca.ts';
import { issueDeviceCertificate } from '../lib/pki/issue.ts';
import { encodePem } from '../lib/pki/pem.ts';
import { base64Body, parseCertsOnlyPkcs7 } from '../lib/pki/pkcs7.ts';
import { deviceCertificates, deviceEvents, deviceJti, devices } from '../schema/index.ts';
import { app } from '../workers/app.ts';
import { database } from '../workers/db.ts';
import { authenticateDevice, DEVICE_JWT_TYP as SERVER_TYP, DeviceAuthFailed } from '../workers/provisioning/device-auth.ts';

const BASE = 'http://gatehouse.test';
const AUDIENCE = `${env.PUBLIC_URL}/.well-known/est/simplereenroll`;
const db = () => database(env.DB);
const text = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

type Device = { deviceId: string; keys: CryptoKeyPair; certPem: string; chainPem: string; serial: string; fingerprint: string };

/** Enrols a fresh device through the API, as the agent does. */
async function enrolled(): Promise<Device> {
  const otpRes = await exports.default.fetch(`${BASE}/admin/api/otp`, {
    method: 'POST',
    headers: { Authorization: `PROV-ADMIN ${env.PROV_ADMIN_API_KEY}`, 'CF-Connecting-IP': '192.0.2.20' },
  });
  const { otp } = (await otpRes.json()) as { otp: string };
  const keys = await generateDeviceKey();
  const res = await exports.default.fetch(`${BASE}/.well-known/est/simpleenroll`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${otp}` },
    body: base64Body(await buildCsr(keys, { serial: 'SN-RE-1' })),
  });
  expect(res.status).toBe(200);
  const [der] = parseCertsOnlyPkcs7(await text(res));
  const cert = new x509.X509Certificate(der ?? new Uint8Array());
  const chain = parseCertsOnlyPkcs7(await text(await exports.default.fetch(`${BASE}/.well-known/est/cacerts`)));
  const deviceId = cert.subjectName.getField('CN')[0] ?? '';
  const row = await db().query.deviceCertificates.findFirst({ where: eq(deviceCertificates.deviceId, deviceId) });
  return {
    deviceId,
    keys,
    certPem: cert.toString('pem'),
    chainPem: chain.map((c) => encodePem(c, 'CERTIFICATE')).join(''),
    serial: row?.serial ?? '',
    fingerprint: row?.fingerprint ?? '',
  };
}

const jwtFor = (d: Device, overrides: { audience?: string; ttlSeconds?: number; now?: number } = {}) =>
  createDeviceJwt({ privateKey: d.keys.privateKey, x5c: x5cFor(d.certPem, d.chainPem), deviceId: d.deviceId, audience: AUDIENCE, ...overrides });

async function reenroll(headers: Record<string, string>, body?: string, cf?: Record<string, unknown>) {
  const csrBody = body ?? base64Body(await buildCsr(await generateDeviceKey()));
  const init: RequestInit & { cf?: Record<string, unknown> } = { method: 'POST', headers, body: csrBody, ...(cf ? { cf } : {}) };
  return exports.default.fetch(new Request(`${BASE}/.well-known/est/simplereenroll`, init));
}

async function expectRefused(res: Response, status: 401 | 403, message?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  expect(res.headers.get('gatehouse-error')).toBe(status === 401 ? 'device_auth' : 'device_revoked');
  if (message) expect(await text(res)).toMatch(message);
}

describe('POST /.well-known/est/simplereenroll with a device JWT', () => {
  it('uses the same typ as the agent', () => {
    expect(SERVER_TYP).toBe(DEVICE_JWT_TYP);
  });

  it('renews: same device id and serial, new certificate row and event; the old certificate stays valid', async () => {
    const device = await enrolled();
    const res = await reenroll({ Authorization: `Bearer ${await jwtFor(device)}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pkcs7-mime; smime-type=certs-only');
    const [der] = parseCertsOnlyPkcs7(await text(res));
    const renewed = new x509.X509Certificate(der ?? new Uint8Array());
    expect(renewed.subjectName.getField('CN')).toEqual([device.deviceId]);
    expect(renewed.subjectName.getField('2.5.4.5')).toEqual(['SN-RE-1']);
    expect(renewed.serialNumber.toLowerCase()).not.toBe(device.serial);

    const rows = await db().select().from(deviceCertificates).where(eq(deviceCertificates.deviceId, device.deviceId));
    expect(rows.map((r) => r.status)).toEqual(['active', 'active']);
    const events = await db().select().from(deviceEvents).where(and(eq(deviceEvents.deviceId, device.deviceId), eq(deviceEvents.type, 'reenrolled')));
    expect(events[0]?.detail).toMatchObject({ certificate: renewed.serialNumber.toLowerCase(), previous: device.serial });
    // The old certificate still authenticates (a fresh JWT: jti are single use).
    expect((await reenroll({ Authorization: `Bearer ${await jwtFor(device)}` })).status).toBe(200);
  });

  it('refuses a replayed JWT', async () => {
    const device = await enrolled();
    const jwt = await jwtFor(device);
    expect((await reenroll({ Authorization: `Bearer ${jwt}` })).status).toBe(200);
    await expectRefused(await reenroll({ Authorization: `Bearer ${jwt}` }), 401, /already used/);
    const stored = await db().select().from(deviceJti).where(eq(deviceJti.deviceId, device.deviceId));
    expect(stored).toHaveLength(1);
  });

  it('refuses a missing, malformed or invalid credential with 401', async () => {
    const device = await enrolled();
    const now = Math.floor(Date.now() / 1000);
    const x5c = x5cFor(device.certPem, device.chainPem);
    const signed = (claims: Record<string, unknown>, header: Record<string, unknown> = {}, key = device.keys.privateKey) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: DEVICE_JWT_TYP, x5c, ...header }).sign(key);
    const good = { sub: device.deviceId, aud: AUDIENCE, iat: now, exp: now + 60, jti: crypto.randomUUID() };
    const foreign = await generateCa({ name: 'Foreign' });
    const foreignCa = await loadCa({ certPem: foreign.issuingCertPem, keyPem: foreign.issuingKeyPem, chainPem: foreign.rootCertPem });
    const foreignCert = await issueDeviceCertificate({ ca: foreignCa, publicKey: device.keys.publicKey, deviceId: device.deviceId, crlUrl: `${BASE}/pki/crl` });

    const cases: [string, Record<string, string>][] = [
      ['none', {}],
      ['not bearer', { Authorization: 'Basic abc' }],
      ['not a JWT', { Authorization: 'Bearer abc' }],
      ['garbage JWT', { Authorization: 'Bearer a.b.c' }],
      ['wrong aud', { Authorization: `Bearer ${await signed({ ...good, aud: `${BASE}/devices/connect` })}` }],
      ['lifetime over 5 min', { Authorization: `Bearer ${await signed({ ...good, exp: now + 600 })}` }],
      ['expired', { Authorization: `Bearer ${await signed({ ...good, iat: now - 400, exp: now - 100 })}` }],
      ['issued in the future', { Authorization: `Bearer ${await signed({ ...good, iat: now + 600, exp: now + 700 })}` }],
      ['no jti', { Authorization: `Bearer ${await signed({ ...good, jti: undefined })}` }],
      ['other subject', { Authorization: `Bearer ${await signed({ ...good, sub: crypto.randomUUID() })}` }],
      ['wrong typ', { Authorization: `Bearer ${await signed(good, { typ: 'JWT' })}` }],
      ['no x5c', { Authorization: `Bearer ${await signed(good, { x5c: undefined })}` }],
      ['signed by another key', { Authorization: `Bearer ${await signed(good, {}, (await generateDeviceKey()).privateKey)}` }],
      ['foreign CA', { Authorization: `Bearer ${await signed(good, { x5c: [btoa(String.fromCharCode(...foreignCert.der))] })}` }],
      ['alg none', { Authorization: `Bearer ${btoa(JSON.stringify({ alg: 'none', x5c })).replace(/=/g, '')}.${btoa(JSON.stringify(good)).replace(/=/g, '')}.` }],
    ];
    for (const [name, headers] of cases) {
      const res = await reenroll(headers);
      expect(res.status, name).toBe(401);
      expect(res.headers.get('www-authenticate'), name).toBe('Bearer realm="gatehouse-est"');
    }
    // A token that failed does not burn anything: the good one still works.
    expect((await reenroll({ Authorization: `Bearer ${await signed(good)}` })).status).toBe(200);
  });

  it('refuses a revoked certificate or device with 403', async () => {
    const device = await enrolled();
    await db().update(deviceCertificates).set({ status: 'revoked', revokedAt: Date.now(), revocationReason: 'keyCompromise' }).where(eq(deviceCertificates.serial, device.serial));
    await expectRefused(await reenroll({ Authorization: `Bearer ${await jwtFor(device)}` }), 403, /revoked/);
    const other = await enrolled();
    await db().update(devices).set({ status: 'revoked' }).where(eq(devices.id, other.deviceId));
    await expectRefused(await reenroll({ Authorization: `Bearer ${await jwtFor(other)}` }), 403);
  });

  it('refuses a bad CSR with 400 after authenticating', async () => {
    const device = await enrolled();
    const res = await reenroll({ Authorization: `Bearer ${await jwtFor(device)}` }, 'not a csr');
    expect(res.status).toBe(400);
    expect(res.headers.get('gatehouse-error')).toBe('bad_request');
  });

  it('revokes the previous certificate as superseded when EST_REENROLL_REVOKES_PREVIOUS is true', async () => {
    const device = await enrolled();
    const ctx = createExecutionContext();
    const request = new Request(`${BASE}/.well-known/est/simplereenroll`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await jwtFor(device)}` },
      body: base64Body(await buildCsr(await generateDeviceKey())),
    });
    const res = await app.fetch(request, { ...env, EST_REENROLL_REVOKES_PREVIOUS: 'true' }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    const old = await db().query.deviceCertificates.findFirst({ where: eq(deviceCertificates.serial, device.serial) });
    expect(old).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });
    expect((await db().query.devices.findFirst({ where: eq(devices.id, device.deviceId) }))?.status).toBe('unclaimed');
  });
});

describe('Cloudflare mTLS (request.cf.tlsClientAuth)', () => {
  const tls = (fingerprint: string, certVerified = 'SUCCESS') => ({ tlsClientAuth: { certPresented: '1', certVerified, certFingerprintSHA256: fingerprint } });

  it('authenticates a verified client certificate by its SHA-256 fingerprint', async () => {
    const device = await enrolled();
    const res = await reenroll({}, undefined, tls(device.fingerprint.toUpperCase()));
    expect(res.status).toBe(200);
    const [der] = parseCertsOnlyPkcs7(await text(res));
    expect(new x509.X509Certificate(der ?? new Uint8Array()).subjectName.getField('CN')).toEqual([device.deviceId]);
  });

  it('refuses an unverified, unknown or revoked client certificate', async () => {
    const device = await enrolled();
    await expectRefused(await reenroll({}, undefined, tls(device.fingerprint, 'FAILED:self signed certificate')), 401);
    await expectRefused(await reenroll({}, undefined, tls('ab'.repeat(32))), 401, /unknown/);
    await expectRefused(await reenroll({}, undefined, tls('not hex')), 401);
    await db().update(deviceCertificates).set({ status: 'revoked' }).where(eq(deviceCertificates.serial, device.serial));
    await expectRefused(await reenroll({}, undefined, tls(device.fingerprint)), 403);
  });
});

describe('authenticateDevice', () => {
  it('returns the device and certificate, and refuses a certificate past notAfter', async () => {
    const device = await enrolled();
    const request = async (now?: number) =>
      new Request(`${BASE}/x`, { headers: { Authorization: `Bearer ${await jwtFor(device, now ? { now } : {})}` } });
    const identity = await authenticateDevice(env, await request(), { audience: AUDIENCE });
    expect(identity).toMatchObject({ deviceId: device.deviceId, method: 'jwt', certificateSerial: device.serial, keyType: 'ECDSA-P256' });
    const later = new x509.X509Certificate(device.certPem).notAfter.getTime() + 1000;
    const error = await authenticateDevice(env, await request(later), { audience: AUDIENCE, now: later }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceAuthFailed);
    expect((error as DeviceAuthFailed).reason).toBe('expired');
  });
});
