import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../encoding.ts';
import { loadCa } from './ca.ts';
import { parseAndCheckCsr } from './csr.ts';
import { PkiInputInvalid } from './errors.ts';
import { issueDeviceCertificate } from './issue.ts';
import { b64, CRL_URL, exportDer, deviceKeys, makeCa, makeCsr, otherAlgorithmCa } from './pki.test-fixture.ts';
import { verifyDeviceChain } from './verify-chain.ts';

const DEVICE_ID = '7b0c1c8e-3f7e-4c52-9f55-1a2b3c4d5e6f';
const DAY = 86_400_000;

describe('enrolment, end to end: CSR → check → issue → verify', () => {
  it('issues a device certificate with exactly the profile of issue 4', async () => {
    const { ca } = await makeCa();
    // Well inside the CA's validity, off a whole second, so backdating and truncation are both visible.
    const now = new Date(Math.floor(Date.now() / 1000) * 1000 + 30 * DAY + 500);
    // The request asks for things it must not get: CA:true, a DNS SAN and its own CN.
    const { der: csrDer, keys } = await makeCsr({
      extensions: [
        new x509.BasicConstraintsExtension(true, 3, true),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'evil.example' }]),
      ],
    });
    const checked = await parseAndCheckCsr(csrDer);
    const issued = await issueDeviceCertificate({
      ca,
      publicKey: checked.spki,
      deviceId: DEVICE_ID,
      deviceSerial: checked.serialNumber,
      crlUrl: CRL_URL,
      now,
    });
    const cert = new x509.X509Certificate(issued.der);

    expect(issued.pem).toBe(`${cert.toString('pem').replace(/\r\n/g, '\n')}\n`);
    expect(issued.serialHex).toMatch(/^[0-9a-f]{32}$/);
    expect(cert.serialNumber.toLowerCase()).toBe(issued.serialHex);
    expect(Number.parseInt(issued.serialHex.slice(0, 2), 16) & 0x80).toBe(0);
    expect(issued.fingerprintSha256Hex).toBe(bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', issued.der))));
    expect(cert.subject).toBe(`CN=${DEVICE_ID}, 2.5.4.5=SN-0001`);
    expect(cert.subjectName.getField('2.5.4.5')).toEqual(['SN-0001']);
    expect(cert.issuer).toBe(ca.cert.subject);
    expect(await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true })).toBe(true);
    expect(new Uint8Array(cert.publicKey.rawData)).toEqual(await exportDer('spki', keys.publicKey));

    // 90 days by default, backdated five minutes for device clock skew, whole seconds.
    expect(issued.notAfter.getTime() - issued.notBefore.getTime()).toBe(90 * DAY + 5 * 60_000);
    expect(issued.notBefore.getTime()).toBe(now.getTime() - 500 - 5 * 60_000);
    expect(cert.notBefore).toEqual(issued.notBefore);

    const types = cert.extensions.map((e) => e.type).sort();
    // SKI, KU, SAN, BC, CDP, AKI, EKU: nothing else, in particular nothing the request asked for.
    expect(types).toEqual(['2.5.29.14', '2.5.29.15', '2.5.29.17', '2.5.29.19', '2.5.29.31', '2.5.29.35', '2.5.29.37']);
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    expect([bc?.ca, bc?.critical, bc?.pathLength]).toEqual([false, true, undefined]);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    expect([ku?.usages, ku?.critical]).toEqual([x509.KeyUsageFlags.digitalSignature, true]);
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
    expect([eku?.usages, eku?.critical]).toEqual([[x509.ExtendedKeyUsage.clientAuth], false]);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.names.toJSON()).toEqual([{ type: 'url', value: `urn:gatehouse:device:${DEVICE_ID}` }]);
    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
    expect(ski?.keyId).toBe(bytesToHex(new Uint8Array(await cert.publicKey.getKeyIdentifier())));
    const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
    expect(aki?.keyId).toBe(ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    const cdp = cert.getExtension(x509.CRLDistributionPointsExtension);
    expect(cdp?.distributionPoints[0]?.distributionPoint?.fullName?.[0]?.uniformResourceIdentifier).toBe(CRL_URL);

    const verified = await verifyDeviceChain([b64(issued.der)], ca, new Date(now.getTime() + DAY));
    expect(verified.deviceId).toBe(DEVICE_ID);
    expect(verified.serialHex).toBe(issued.serialHex);
    expect(verified.fingerprintSha256Hex).toBe(issued.fingerprintSha256Hex);
    expect(verified.keyType).toBe('ECDSA-P256');
    // The returned key verifies what the device's private key signs.
    const message = new TextEncoder().encode('hello');
    const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, message);
    const ecdsa = { name: 'ECDSA', hash: 'SHA-256' };
    expect(await crypto.subtle.verify(ecdsa, verified.publicKey, signature, message)).toBe(true);
  });

  it('leaves out serialNumber when there is none, and takes a CryptoKey as well as SPKI', async () => {
    const { ca } = await makeCa();
    const keys = await deviceKeys('Ed25519');
    const now = new Date(Date.now() + DAY);
    const params = { ca, publicKey: keys.publicKey, deviceId: DEVICE_ID, validityDays: 7, crlUrl: CRL_URL, now };
    const issued = await issueDeviceCertificate(params);
    const cert = new x509.X509Certificate(issued.der);
    expect(cert.subject).toBe(`CN=${DEVICE_ID}`);
    expect(issued.notAfter.getTime() - issued.notBefore.getTime()).toBe(7 * DAY + 5 * 60_000);
    expect((await verifyDeviceChain([b64(issued.der)], ca, now)).keyType).toBe('Ed25519');
  });

  it('clips validity to the issuing CA', async () => {
    const { ca } = await makeCa();
    const now = new Date(ca.cert.notAfter.getTime() - 10 * DAY);
    const publicKey = (await deviceKeys()).publicKey;
    const issued = await issueDeviceCertificate({ ca, publicKey, deviceId: DEVICE_ID, crlUrl: CRL_URL, now });
    expect(issued.notAfter.getTime()).toBe(Math.floor(ca.cert.notAfter.getTime() / 1000) * 1000);
  });

  it.each(['ECDSA-P384', 'RSA-2048'] as const)('issues under a %s CA', async (kind) => {
    const g = await otherAlgorithmCa(kind);
    const ca = await loadCa({ certPem: g.issuingCertPem, keyPem: g.issuingKeyPem, chainPem: g.rootCertPem });
    const { der } = await makeCsr({ kind: 'RSA-2048' });
    const checked = await parseAndCheckCsr(der);
    const issued = await issueDeviceCertificate({ ca, publicKey: checked.spki, deviceId: 'dev-1', crlUrl: CRL_URL });
    const cert = new x509.X509Certificate(issued.der);
    const expected = kind === 'RSA-2048' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', hash: 'SHA-384' };
    expect(cert.signatureAlgorithm).toMatchObject({ name: expected.name, hash: { name: expected.hash } });
    expect((await verifyDeviceChain([b64(issued.der)], ca)).deviceId).toBe('dev-1');
  });

  it('refuses unusable inputs with PkiInputInvalid', async () => {
    const { ca } = await makeCa();
    const publicKey = (await deviceKeys()).publicKey;
    const base = { ca, publicKey, deviceId: DEVICE_ID, crlUrl: CRL_URL };
    for (const bad of [
      { deviceId: 'has space' },
      { deviceId: '' },
      { deviceSerial: 'SN*1' },
      { validityDays: 0 },
      { validityDays: 1.5 },
      { crlUrl: 'ldap://x/crl' },
      { crlUrl: 'not a url' },
      { publicKey: new Uint8Array([0x30, 0x00]) },
    ]) {
      await expect(issueDeviceCertificate({ ...base, ...bad })).rejects.toBeInstanceOf(PkiInputInvalid);
    }
  });
});
