import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { loadCa } from './ca.ts';
import { generateCa } from './dev-ca.ts';
import { CaInvalid } from './errors.ts';
import { deviceKeys, otherAlgorithmCa, pkcs8Pem } from './pki.test-fixture.ts';

const escaped = (pem: string): string => pem.replace(/\r?\n/g, '\\n');

describe('@peculiar/x509 inside workerd', () => {
  it('generates a CA with generateCa() and parses it back', async () => {
    const ca = await generateCa({ name: 'Smoke' });
    const root = new x509.X509Certificate(ca.rootCertPem);
    const issuing = new x509.X509Certificate(ca.issuingCertPem);
    expect(root.subject).toBe('CN=Smoke Root CA');
    expect(issuing.issuer).toBe(root.subject);
    expect(await issuing.verify({ publicKey: root.publicKey, signatureOnly: true })).toBe(true);
    expect(await root.isSelfSigned()).toBe(true);
  });
});

describe('loadCa', () => {
  it('loads the dev CA: issuing cert, key, chain up to the root, key id from the SKI', async () => {
    const g = await generateCa();
    const ca = await loadCa({ certPem: g.issuingCertPem, keyPem: g.issuingKeyPem, chainPem: g.rootCertPem });
    const issuing = new x509.X509Certificate(g.issuingCertPem);
    expect(ca.cert.subject).toBe(issuing.subject);
    expect(ca.chain.map((c) => c.subject)).toEqual([issuing.subject, 'CN=Gatehouse Root CA']);
    expect(ca.chainDer[0]).toEqual(new Uint8Array(issuing.rawData));
    expect(ca.keyIdHex).toBe(issuing.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    expect(ca.privateKey.type).toBe('private');
    expect(ca.privateKey.extractable).toBe(false);
    expect(ca.signingAlgorithm).toEqual({ name: 'ECDSA', hash: 'SHA-256' });
  });

  it('accepts PEM whose newlines are the two characters \\n, and the whole chain in CA_CERT', async () => {
    const g = await generateCa();
    const ca = await loadCa({ certPem: escaped(g.issuingCertPem + g.rootCertPem), keyPem: escaped(g.issuingKeyPem) });
    expect(ca.chain).toHaveLength(2);
    expect(await ca.chain[1]?.isSelfSigned()).toBe(true);
  });

  it('orders a shuffled CA_CHAIN and ignores unrelated certificates in it', async () => {
    const g = await generateCa();
    const stranger = await generateCa({ name: 'Stranger' });
    const ca = await loadCa({
      certPem: g.issuingCertPem,
      keyPem: g.issuingKeyPem,
      chainPem: stranger.rootCertPem + g.rootCertPem + g.issuingCertPem,
    });
    expect(ca.chain.map((c) => c.subject)).toEqual([ca.cert.subject, 'CN=Gatehouse Root CA']);
  });

  it.each(['ECDSA-P384', 'RSA-2048'] as const)('loads a %s CA', async (kind) => {
    const g = await otherAlgorithmCa(kind);
    const ca = await loadCa({ certPem: g.issuingCertPem, keyPem: g.issuingKeyPem, chainPem: g.rootCertPem });
    expect(ca.chain).toHaveLength(2);
    expect(ca.signingAlgorithm.hash ?? 'from key').toBe(kind === 'RSA-2048' ? 'from key' : 'SHA-384');
  });

  const rejects = async (material: Parameters<typeof loadCa>[0], detail: RegExp) => {
    const error = await loadCa(material).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CaInvalid);
    expect((error as CaInvalid).detail).toMatch(detail);
    expect((error as CaInvalid).message).toBe('certificate authority misconfigured');
  };

  it('refuses a key that does not belong to the certificate', async () => {
    const g = await generateCa();
    await rejects({ certPem: g.issuingCertPem, keyPem: g.rootKeyPem, chainPem: g.rootCertPem }, /does not match/);
  });

  it('refuses a chain that does not reach a self-signed root', async () => {
    const g = await generateCa();
    await rejects({ certPem: g.issuingCertPem, keyPem: g.issuingKeyPem }, /self-signed root/);
  });

  it('refuses SEC1 keys, garbage PEM and an empty CA_CERT with a typed error', async () => {
    const g = await generateCa();
    const sec1 = g.issuingKeyPem.replace(/PRIVATE KEY/g, 'EC PRIVATE KEY');
    await rejects({ certPem: g.issuingCertPem, keyPem: sec1, chainPem: g.rootCertPem }, /pkcs8 -topk8/);
    await rejects({ certPem: '-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----', keyPem: '' }, /CA_CERT/);
    await rejects({ certPem: '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----', keyPem: '' }, /does not parse/);
    await rejects({ certPem: 'nothing here', keyPem: g.issuingKeyPem }, /no CERTIFICATE/);
  });

  it('refuses a certificate that is not a CA', async () => {
    const keys = await deviceKeys();
    const leaf = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=not a ca',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
    });
    await rejects({ certPem: leaf.toString('pem'), keyPem: await pkcs8Pem(keys.privateKey) }, /not a CA/);
  });
});
