import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { env, exports } from 'cloudflare:workers';
import { and, eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { buildCsr, generateDeviceKey, spkiOf } from '../agent/csr.ts';
import { base64ToBytes, bytesToBase64, bytesToHex, sha256Hex } from '../lib/encoding.ts';
import { loadCa } from '../lib/pki/ca.ts';
import { encodeOid } from '../lib/pki/der.ts';
import { OPENSSL_CSR } from '../lib/pki/openssl-csrs.test-fixture.ts';
import { base64Body, parseCertsOnlyPkcs7 } from '../lib/pki/pkcs7.ts';
import { deviceCertificates, deviceEvents, devices, otps } from '../schema/index.ts';
import { database } from '../workers/db.ts';

const BASE = 'http://gatehouse.test';
const db = () => database(env.DB);
const ca = () => loadCa({ certPem: env.CA_CERT, keyPem: env.CA_KEY, chainPem: env.CA_CHAIN });

async function newOtp(body: Record<string, unknown> = {}): Promise<{ id: string; otp: string }> {
  const res = await exports.default.fetch(`${BASE}/admin/api/otp`, {
    method: 'POST',
    headers: { Authorization: `PROV-ADMIN ${env.PROV_ADMIN_API_KEY}`, 'Content-Type': 'application/json', 'CF-Connecting-IP': '192.0.2.10' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; otp: string };
}

async function csr(serial?: string) {
  const keys = await generateDeviceKey();
  return { keys, body: base64Body(await buildCsr(keys, { serial })) };
}

/** The body as text, read as bytes first: EST bodies are base64 text under a binary-looking media type. */
const bodyText = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

const basic = (otp: string, user = 'device') => `Basic ${btoa(`${user}:${otp}`)}`;

function enroll(body: BodyInit, authorization?: string, headers: Record<string, string> = {}) {
  return exports.default.fetch(`${BASE}/.well-known/est/simpleenroll`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/pkcs10', ...(authorization ? { Authorization: authorization } : {}), ...headers },
    body,
  });
}

async function expectEstError(res: Response, status: number, code: string, text?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  expect(res.headers.get('gatehouse-error')).toBe(code);
  const body = await res.text();
  expect(body.length).toBeLessThan(200);
  if (text) expect(body).toMatch(text);
}

async function issuedCert(res: Response): Promise<x509.X509Certificate> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/pkcs7-mime; smime-type=certs-only');
  expect(res.headers.get('content-transfer-encoding')).toBe('base64');
  const certs = parseCertsOnlyPkcs7(await bodyText(res));
  expect(certs).toHaveLength(1);
  return new x509.X509Certificate(certs[0] ?? new Uint8Array());
}

describe('GET /.well-known/est/cacerts and csrattrs', () => {
  it('serves the CA chain, issuing CA first, as base64 certs-only PKCS#7 without authentication', async () => {
    const res = await exports.default.fetch(`${BASE}/.well-known/est/cacerts`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pkcs7-mime; smime-type=certs-only');
    expect(res.headers.get('content-transfer-encoding')).toBe('base64');
    const body = await bodyText(res);
    expect(body).toMatch(/^([A-Za-z0-9+/=]{1,64}\r\n)+$/);
    expect(parseCertsOnlyPkcs7(body)).toEqual((await ca()).chainDer);
  });

  it('serves CsrAttrs naming the accepted key types, signature algorithms and serialNumber', async () => {
    const res = await exports.default.fetch(`${BASE}/.well-known/est/csrattrs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/csrattrs');
    expect(res.headers.get('content-transfer-encoding')).toBe('base64');
    const der = base64ToBytes(await bodyText(res));
    expect(der[0]).toBe(0x30);
    const hex = bytesToHex(der);
    for (const oid of ['1.2.840.10045.2.1', '1.2.840.10045.3.1.7', '1.3.132.0.34', '1.3.101.112', '1.2.840.113549.1.1.1', '1.2.840.10045.4.3.2', '1.2.840.113549.1.1.11', '2.5.4.5']) {
      expect(hex, oid).toContain(bytesToHex(encodeOid(oid)));
    }
  });
});

describe('POST /.well-known/est/simpleenroll', () => {
  it('enrols a device: certificate as specified, device and certificate rows, consumed OTP, enrolled event', async () => {
    const { id: otpId, otp } = await newOtp();
    const { keys, body } = await csr('SN-EST-1');
    const cert = await issuedCert(await enroll(body, basic(otp)));

    const deviceId = cert.subjectName.getField('CN')[0] ?? '';
    expect(deviceId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(cert.subjectName.getField('2.5.4.5')).toEqual(['SN-EST-1']);
    expect(cert.issuer).toBe((await ca()).cert.subject);
    expect(await cert.verify({ publicKey: (await ca()).cert.publicKey, signatureOnly: true })).toBe(true);
    expect(new Uint8Array(cert.publicKey.rawData)).toEqual(await spkiOf(keys.publicKey));
    expect(cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.map((n) => n.value)).toEqual([`urn:gatehouse:device:${deviceId}`]);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    const crlDp = cert.getExtension(x509.CRLDistributionPointsExtension);
    expect(JSON.stringify(crlDp?.distributionPoints)).toContain(`${env.PUBLIC_URL}/pki/crl`);
    const days = (cert.notAfter.getTime() - cert.notBefore.getTime()) / 86_400_000;
    expect(Math.round(days)).toBe(90);
    expect(cert.serialNumber.length).toBeGreaterThanOrEqual(31);

    const device = await db().query.devices.findFirst({ where: eq(devices.id, deviceId) });
    expect(device).toMatchObject({ serial: 'SN-EST-1', status: 'unclaimed' });
    const row = await db().query.deviceCertificates.findFirst({ where: eq(deviceCertificates.deviceId, deviceId) });
    expect(row).toMatchObject({ serial: cert.serialNumber.toLowerCase(), status: 'active', fingerprint: await sha256Hex(new Uint8Array(cert.rawData)) });
    expect(row?.notAfter).toBe(cert.notAfter.getTime());
    expect(await db().query.otps.findFirst({ where: eq(otps.id, otpId) })).toMatchObject({ usedBy: deviceId });
    const events = await db().select().from(deviceEvents).where(eq(deviceEvents.deviceId, deviceId));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'enrolled', detail: { certificate: row?.serial, otp: otpId, keyType: 'ECDSA-P256' } });
  });

  it('takes the OTP as a Bearer token too, and enrols OpenSSL and Ed25519 requests', async () => {
    const first = await issuedCert(await enroll(OPENSSL_CSR.EC_P256, `Bearer ${(await newOtp()).otp}`));
    expect(first.subjectName.getField('2.5.4.5')).toEqual(['SN 0042']);
    expect(first.subjectName.getField('CN')[0]).not.toBe('openssl-device');
    await issuedCert(await enroll(OPENSSL_CSR.ED25519, basic((await newOtp()).otp, 'est-user')));
  });

  it('refuses a missing, malformed or unknown OTP with 401 and a challenge', async () => {
    const { body } = await csr();
    for (const auth of [undefined, 'Basic !!!', 'Basic bm9jb2xvbg==', 'Digest abc', `Basic ${btoa('device:short')}`]) {
      const res = await enroll(body, auth);
      await expectEstError(res, 401, 'auth_required');
      expect(res.headers.get('www-authenticate')).toContain('Basic realm=');
    }
    await expectEstError(await enroll(body, basic('A'.repeat(22))), 401, 'otp_unknown', /unknown one-time passcode/);
  });

  it('refuses a used OTP with 403, and gives exactly one certificate to parallel enrolments with one OTP', async () => {
    const { id: otpId, otp } = await newOtp();
    const bodies = await Promise.all(Array.from({ length: 6 }, () => csr()));
    const results = await Promise.all(bodies.map(({ body }) => enroll(body, basic(otp))));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 403, 403, 403, 403, 403]);
    for (const res of results.filter((r) => r.status === 403)) await expectEstError(res, 403, 'otp_used', /already used/);
    const enrolled = await db().select().from(deviceEvents).where(and(eq(deviceEvents.type, 'enrolled'), sql`json_extract(${deviceEvents.detail}, '$.otp') = ${otpId}`));
    expect(enrolled).toHaveLength(1);
    const deviceId = enrolled[0]?.deviceId ?? '';
    expect(await db().$count(deviceCertificates, eq(deviceCertificates.deviceId, deviceId))).toBe(1);
    await expectEstError(await enroll((await csr()).body, basic(otp)), 403, 'otp_used');
  });

  it('refuses expired and revoked OTPs with 403', async () => {
    const expired = await newOtp();
    await db().update(otps).set({ expiresAt: Date.now() - 1 }).where(eq(otps.id, expired.id));
    await expectEstError(await enroll((await csr()).body, basic(expired.otp)), 403, 'otp_expired', /expired/);
    const revoked = await newOtp();
    const del = await exports.default.fetch(`${BASE}/admin/api/otps/${revoked.id}`, {
      method: 'DELETE',
      headers: { Authorization: `PROV-ADMIN ${env.PROV_ADMIN_API_KEY}`, 'CF-Connecting-IP': '192.0.2.10' },
    });
    expect(del.status).toBe(204);
    await expectEstError(await enroll((await csr()).body, basic(revoked.otp)), 403, 'otp_revoked', /revoked/);
  });

  it('enrols only the bound serial with a serial-bound OTP, without consuming it on a mismatch', async () => {
    const { otp } = await newOtp({ serial: 'SN-BOUND-1' });
    await expectEstError(await enroll((await csr()).body, basic(otp)), 403, 'otp_serial_required', /serialNumber/);
    await expectEstError(await enroll((await csr('SN-OTHER')).body, basic(otp)), 403, 'otp_serial_mismatch');
    const cert = await issuedCert(await enroll((await csr('SN-BOUND-1')).body, basic(otp)));
    const device = await db().query.devices.findFirst({ where: eq(devices.id, cert.subjectName.getField('CN')[0] ?? '') });
    expect(device?.serial).toBe('SN-BOUND-1');
  });

  it('refuses a CSR whose signature does not verify, RSA-1024, and garbage with 400 text, keeping the OTP', async () => {
    const { otp } = await newOtp();
    const der = await buildCsr(await generateDeviceKey());
    const tampered = der.slice();
    tampered[tampered.length - 1] = (tampered.at(-1) ?? 0) ^ 0x01;
    await expectEstError(await enroll(base64Body(tampered), basic(otp)), 400, 'bad_request', /signature does not verify/);
    await expectEstError(await enroll(OPENSSL_CSR.RSA_1024, basic(otp)), 400, 'bad_request', /key type not allowed/);
    await expectEstError(await enroll(OPENSSL_CSR.EC_P521, basic(otp)), 400, 'bad_request', /key type not allowed/);
    const garbage: BodyInit[] = [
      '',
      'this is not base64!',
      '%%%%',
      bytesToBase64(crypto.getRandomValues(new Uint8Array(512))),
      base64Body(der.subarray(0, der.length - 7)),
      crypto.getRandomValues(new Uint8Array(300)),
      new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
      '-----BEGIN CERTIFICATE REQUEST-----\n@@@\n-----END CERTIFICATE REQUEST-----',
    ];
    for (const body of garbage) await expectEstError(await enroll(body, basic(otp)), 400, 'bad_request');
    // None of that consumed the OTP.
    await issuedCert(await enroll((await csr()).body, basic(otp)));
  });

  it('refuses oversized bodies with 413, never 500', async () => {
    const { otp } = await newOtp();
    await expectEstError(await enroll('A'.repeat(20_000), basic(otp)), 413, 'too_large');
    // A streamed body without Content-Length is cut at the limit too.
    let chunks = 5;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (chunks-- > 0) controller.enqueue(new Uint8Array(8192).fill(0x41));
        else controller.close();
      },
    });
    await expectEstError(await enroll(stream, basic(otp)), 413, 'too_large');
    // Past MAX_BODY_BYTES the platform-wide limit answers first (a problem document), still 413.
    const huge = await enroll('A'.repeat(2 * 1024 * 1024), basic(otp));
    expect(huge.status).toBe(413);
    await issuedCert(await enroll((await csr()).body, basic(otp)));
  });
});
