import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../encoding.ts';
import { loadCa, type LoadedCa } from './ca.ts';
import { randomSerialHex } from './dev-ca.ts';
import { ChainRejected, type ChainRejectReason } from './errors.ts';
import { issueDeviceCertificate } from './issue.ts';
import { b64, CRL_URL, deviceKeys, handMadeCert, makeCa, pkcs8Pem } from './pki.test-fixture.ts';
import { fingerprintSha256Hex, verifyDeviceChain } from './verify-chain.ts';

const DAY = 86_400_000;

async function issue(ca: LoadedCa, deviceId = 'dev-1', now?: Date) {
  const keys = await deviceKeys();
  return { keys, ...(await issueDeviceCertificate({ ca, publicKey: keys.publicKey, deviceId, crlUrl: CRL_URL, now })) };
}

async function rejection(x5c: string[], ca: LoadedCa, now?: Date): Promise<ChainRejectReason> {
  const error = await verifyDeviceChain(x5c, ca, now).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof ChainRejected)) throw new Error(`expected ChainRejected, got ${String(error)}`);
  return error.reason;
}

const deviceExtensions = (id: string, extra: x509.Extension[] = []) => [
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
  new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `urn:gatehouse:device:${id}` }]),
  ...extra,
];

describe('verifyDeviceChain', () => {
  it('accepts the leaf alone, with the issuing CA, and with the whole chain', async () => {
    const { ca } = await makeCa();
    const issued = await issue(ca);
    const leaf = b64(issued.der);
    const [issuing, root] = ca.chainDer.map(b64);
    for (const x5c of [[leaf], [leaf, issuing ?? ''], [leaf, issuing ?? '', root ?? '']]) {
      const verified = await verifyDeviceChain(x5c, ca);
      expect(verified).toMatchObject({
        deviceId: 'dev-1',
        serialHex: issued.serialHex,
        fingerprintSha256Hex: issued.fingerprintSha256Hex,
      });
      expect(verified.notAfter).toEqual(issued.notAfter);
    }
  });

  it('exports fingerprintSha256Hex as the SHA-256 of the DER', async () => {
    const der = new Uint8Array([1, 2, 3]);
    expect(await fingerprintSha256Hex(der)).toBe(bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', der))));
  });

  it('rejects a certificate from a different CA, even next to our issuing certificate', async () => {
    const { ca } = await makeCa();
    const other = await makeCa('Other');
    const foreign = await issue(other.ca);
    expect(await rejection([b64(foreign.der)], ca)).toBe('untrusted');
    expect(await rejection([b64(foreign.der), ...other.ca.chainDer.map(b64)], ca)).toBe('untrusted');
    expect(await rejection([b64(foreign.der), ...ca.chainDer.map(b64)], ca)).toBe('untrusted');
  });

  it('rejects a leaf "issued" by a device certificate (a non-CA cannot be an intermediate)', async () => {
    const { ca } = await makeCa();
    const device = await issue(ca);
    const deviceAsCa = { ...ca, cert: new x509.X509Certificate(device.der), privateKey: device.keys.privateKey };
    const forged = await handMadeCert(deviceAsCa, {
      publicKey: (await deviceKeys()).publicKey,
      subject: 'CN=dev-2',
      extensions: deviceExtensions('dev-2'),
    });
    expect(await rejection([b64(forged.rawData), b64(device.der)], ca)).toBe('untrusted');
  });

  it('rejects an expired leaf and one not yet valid', async () => {
    const { ca } = await makeCa();
    const issued = await issue(ca);
    expect(await rejection([b64(issued.der)], ca, new Date(issued.notAfter.getTime() + 1000))).toBe('expired');
    expect(await rejection([b64(issued.der)], ca, new Date(issued.notBefore.getTime() - 1000))).toBe('not_yet_valid');
    const old = await handMadeCert(ca, {
      publicKey: (await deviceKeys()).publicKey,
      subject: 'CN=dev-1',
      extensions: deviceExtensions('dev-1'),
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    expect(await rejection([b64(old.rawData)], ca)).toBe('expired');
  });

  it('rejects leaves that are not device client certificates', async () => {
    const { ca } = await makeCa();
    const publicKey = (await deviceKeys()).publicKey;
    const cases: x509.Extension[][] = [
      deviceExtensions('dev-1', [new x509.BasicConstraintsExtension(true, 0, true)]),
      deviceExtensions('dev-1').map((e) =>
        e instanceof x509.ExtendedKeyUsageExtension ? new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]) : e,
      ),
      deviceExtensions('dev-1', [new x509.Extension('1.2.3.4.5', true, new Uint8Array([5, 0]))]),
      deviceExtensions('dev-2'),
    ];
    for (const extensions of cases) {
      const cert = await handMadeCert(ca, { publicKey, subject: 'CN=dev-1', extensions });
      expect(await rejection([b64(cert.rawData)], ca)).toBe('not_device_certificate');
    }
    // The issuing CA's own certificate is not a device certificate either.
    expect(await rejection(ca.chainDer.map(b64), ca)).toBe('not_device_certificate');
  });

  it('takes the device id from the CN when there is no SAN URI', async () => {
    const { ca } = await makeCa();
    const extensions = deviceExtensions('x').filter((e) => !(e instanceof x509.SubjectAlternativeNameExtension));
    const cert = await handMadeCert(ca, { publicKey: (await deviceKeys()).publicKey, subject: 'CN=legacy-7', extensions });
    expect((await verifyDeviceChain([b64(cert.rawData)], ca)).deviceId).toBe('legacy-7');
  });

  it('accepts a certificate from a rotated-out issuing CA under the same root when x5c carries it', async () => {
    const { generated, ca: oldCa } = await makeCa();
    const device = await issue(oldCa);
    // A new issuing CA under the same root becomes the configured one.
    const rootKeyDer = x509.PemConverter.decodeFirst(generated.rootKeyPem);
    const rootKey = await crypto.subtle.importKey('pkcs8', rootKeyDer, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const newKeys = await deviceKeys();
    const root = new x509.X509Certificate(generated.rootCertPem);
    const newIssuing = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerialHex(),
      subject: 'CN=Test Issuing CA 2',
      issuer: root.subject,
      publicKey: newKeys.publicKey,
      signingKey: rootKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 365 * DAY),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    });
    const newCa = await loadCa({
      certPem: newIssuing.toString('pem'),
      keyPem: await pkcs8Pem(newKeys.privateKey),
      chainPem: generated.rootCertPem,
    });

    const oldIssuing = b64(oldCa.chainDer[0] ?? new Uint8Array());
    expect((await verifyDeviceChain([b64(device.der), oldIssuing], newCa)).deviceId).toBe('dev-1');
    expect(await rejection([b64(device.der)], newCa)).toBe('untrusted');
  });

  it('rejects malformed x5c arrays', async () => {
    const { ca } = await makeCa();
    const issued = await issue(ca);
    const ok = b64(issued.der);
    for (const x5c of [[], ['!!!'], ['QUJD'], [ok.slice(0, 100)], Array(6).fill(ok), [ok + 'AAAA'], ['A'.repeat(20_000)]]) {
      expect(await rejection(x5c, ca)).toBe('malformed');
    }
  });
});
