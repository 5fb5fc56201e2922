import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { env, exports } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { buildCsr, generateDeviceKey } from '../agent/csr.ts';
import { loadCa } from '../lib/pki/ca.ts';
import { base64Body, parseCertsOnlyPkcs7 } from '../lib/pki/pkcs7.ts';
import { auditLog, crlState, deviceCertificates, deviceEvents, devices } from '../schema/index.ts';
import { database } from '../workers/db.ts';
import { currentCrl } from '../workers/provisioning/store/crl.ts';

const BASE = 'http://gatehouse.test';
const db = () => database(env.DB);
const ADMIN = { Authorization: `PROV-ADMIN ${env.PROV_ADMIN_API_KEY}`, 'CF-Connecting-IP': '192.0.2.30' };
const text = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());
const ca = () => loadCa({ certPem: env.CA_CERT, keyPem: env.CA_KEY, chainPem: env.CA_CHAIN });

/** Enrols a device with `certificates` certificates (one enrolment, then re-enrolments through mTLS, the shortest path). */
async function enrolled(certificates = 1): Promise<{ deviceId: string; serials: string[] }> {
  const { otp } = (await (await exports.default.fetch(`${BASE}/admin/api/otp`, { method: 'POST', headers: ADMIN })).json()) as { otp: string };
  const csr = async () => base64Body(await buildCsr(await generateDeviceKey()));
  const res = await exports.default.fetch(`${BASE}/.well-known/est/simpleenroll`, { method: 'POST', headers: { Authorization: `Bearer ${otp}` }, body: await csr() });
  const [der] = parseCertsOnlyPkcs7(await text(res));
  const cert = new x509.X509Certificate(der ?? new Uint8Array());
  const deviceId = cert.subjectName.getField('CN')[0] ?? '';
  const fingerprint = (await db().query.deviceCertificates.findFirst({ where: eq(deviceCertificates.deviceId, deviceId) }))?.fingerprint ?? '';
  for (let i = 1; i < certificates; i++) {
    const init = { method: 'POST', body: await csr(), cf: { tlsClientAuth: { certPresented: '1', certVerified: 'SUCCESS', certFingerprintSHA256: fingerprint } } };
    expect((await exports.default.fetch(new Request(`${BASE}/.well-known/est/simplereenroll`, init))).status).toBe(200);
  }
  const rows = await db().select().from(deviceCertificates).where(eq(deviceCertificates.deviceId, deviceId));
  return { deviceId, serials: rows.map((r) => r.serial) };
}

const revoke = (deviceId: string, body?: unknown) =>
  exports.default.fetch(`${BASE}/admin/api/devices/${deviceId}/revoke`, {
    method: 'POST',
    headers: { ...ADMIN, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function fetchCrl(): Promise<x509.X509Crl> {
  const res = await exports.default.fetch(`${BASE}/pki/crl`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/pkix-crl');
  return new x509.X509Crl(new Uint8Array(await res.arrayBuffer()));
}

const crlNumber = (crl: x509.X509Crl) => BigInt(`0x${[...new Uint8Array(crl.getExtension('2.5.29.20')?.value ?? new ArrayBuffer(0))].slice(2).map((b) => b.toString(16).padStart(2, '0')).join('') || '0'}`);

describe('GET /admin/api/devices/:deviceId/certificates', () => {
  it('lists serials, fingerprints, validity and status', async () => {
    const { deviceId, serials } = await enrolled(2);
    const res = await exports.default.fetch(`${BASE}/admin/api/devices/${deviceId}/certificates`, { headers: ADMIN });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { deviceId: string; status: string; certificates: Record<string, unknown>[] };
    expect(body).toMatchObject({ deviceId, status: 'unclaimed' });
    expect(body.certificates.map((c) => c.serial).sort()).toEqual([...serials].sort());
    expect(body.certificates[0]).toMatchObject({ status: 'active', revokedAt: null, revocationReason: null });
    expect(Object.keys(body.certificates[0] ?? {}).sort()).toEqual(['fingerprintSha256', 'notAfter', 'notBefore', 'revocationReason', 'revokedAt', 'serial', 'status']);
  });

  it('answers 404 for an unknown device', async () => {
    expect((await exports.default.fetch(`${BASE}/admin/api/devices/${crypto.randomUUID()}/certificates`, { headers: ADMIN })).status).toBe(404);
    expect((await exports.default.fetch(`${BASE}/admin/api/devices/bad%20id!/certificates`, { headers: ADMIN })).status).toBe(404);
  });
});

describe('POST /admin/api/devices/:deviceId/revoke and GET /pki/crl', () => {
  it('revokes every active certificate: rows, device status, event, audit, and the CRL lists them', async () => {
    const { deviceId, serials } = await enrolled(2);
    const before = await fetchCrl();
    const res = await revoke(deviceId, { reason: 'keyCompromise' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { revoked: string[]; status: string; reason: string };
    expect(body).toMatchObject({ status: 'revoked', reason: 'keyCompromise' });
    expect(body.revoked.sort()).toEqual([...serials].sort());

    const rows = await db().select().from(deviceCertificates).where(eq(deviceCertificates.deviceId, deviceId));
    expect(rows.every((r) => r.status === 'revoked' && r.revocationReason === 'keyCompromise' && (r.revokedAt ?? 0) > 0)).toBe(true);
    expect((await db().query.devices.findFirst({ where: eq(devices.id, deviceId) }))?.status).toBe('revoked');
    const [event] = await db().select().from(deviceEvents).where(and(eq(deviceEvents.deviceId, deviceId), eq(deviceEvents.type, 'revoked')));
    expect(event?.detail).toMatchObject({ reason: 'keyCompromise' });
    expect(((event?.detail as { serials: string[] }).serials ?? []).sort()).toEqual([...serials].sort());
    const audit = await db().query.auditLog.findFirst({ where: and(eq(auditLog.target, deviceId), eq(auditLog.action, 'device.revoke')) });
    expect(audit).toMatchObject({ actor: 'prov-admin', detail: { reason: 'keyCompromise', deviceRevoked: true } });

    const crl = await fetchCrl();
    expect(await crl.verify({ publicKey: (await ca()).cert })).toBe(true);
    expect(crl.issuer).toBe((await ca()).cert.subject);
    expect(crlNumber(crl)).toBeGreaterThan(crlNumber(before));
    expect(crl.nextUpdate && crl.nextUpdate.getTime() - crl.thisUpdate.getTime()).toBe(24 * 3_600_000);
    for (const serial of serials) expect(crl.findRevoked(serial)?.reason).toBe(x509.X509CrlReason.keyCompromise);
  });

  it('revokes one certificate as superseded without revoking the device; a second call revokes nothing', async () => {
    const { deviceId, serials } = await enrolled(2);
    const [first = '', second = ''] = serials;
    const res = await revoke(deviceId, { reason: 'superseded', serial: first.toUpperCase() });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ revoked: [first], status: 'unclaimed' });
    const still = await db().query.deviceCertificates.findFirst({ where: eq(deviceCertificates.serial, second) });
    expect(still?.status).toBe('active');
    const again = await revoke(deviceId, { reason: 'superseded', serial: first });
    expect(await again.json()).toMatchObject({ revoked: [] });
    const crl = await fetchCrl();
    expect(crl.findRevoked(first)?.reason).toBe(x509.X509CrlReason.superseded);
    expect(crl.findRevoked(second)).toBeNull();
  });

  it('defaults the reason to unspecified when there is no body', async () => {
    const { deviceId, serials } = await enrolled();
    expect((await (await revoke(deviceId)).json()) as object).toMatchObject({ reason: 'unspecified', revoked: serials, status: 'revoked' });
    const entry = (await fetchCrl()).findRevoked(serials[0] ?? '');
    expect(entry).not.toBeNull();
    expect(entry?.reason).toBeUndefined();
  });

  it('refuses unknown devices (404), unknown serials (404), bad reasons and serials (400)', async () => {
    const { deviceId } = await enrolled();
    expect((await revoke(crypto.randomUUID(), { reason: 'keyCompromise' })).status).toBe(404);
    expect((await revoke(deviceId, { serial: 'abcdef' })).status).toBe(404);
    for (const body of [{ reason: 'removeFromCRL' }, { reason: 'certificateHold' }, { reason: 'whatever' }, { serial: 'xyz' }, { reason: 5 }]) {
      expect((await revoke(deviceId, body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await db().query.devices.findFirst({ where: eq(devices.id, deviceId) }))?.status).toBe('unclaimed');
  });

  it('serves the cached CRL until something is revoked, then a new one with the next CRL number', async () => {
    const a = await fetchCrl();
    const b = await fetchCrl();
    expect(crlNumber(b)).toBe(crlNumber(a));
    expect(b.thisUpdate).toEqual(a.thisUpdate);
    const { deviceId, serials } = await enrolled();
    await revoke(deviceId, { reason: 'cessationOfOperation' });
    const c = await fetchCrl();
    expect(crlNumber(c)).toBe(crlNumber(a) + 1n);
    expect(c.findRevoked(serials[0] ?? '')?.reason).toBe(x509.X509CrlReason.cessationOfOperation);
  });

  it('rebuilds once half of the CRL validity has passed, and parallel rebuilds agree on one CRL number', async () => {
    const loaded = await ca();
    const state = await db().query.crlState.findFirst({ where: eq(crlState.issuerKeyId, loaded.keyIdHex) });
    const validity = 24 * 3_600_000;
    const later = (state?.thisUpdate ?? Date.now()) + validity / 2 + 1000;
    const results = await Promise.all(Array.from({ length: 4 }, () => currentCrl(db(), loaded, validity, later)));
    expect(new Set(results.map((r) => r.crlNumber)).size).toBe(1);
    expect(results[0]?.crlNumber).toBe((state?.crlNumber ?? 0) + 1);
  });
});
