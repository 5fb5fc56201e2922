import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { bytesToBase64Url } from '../encoding.ts';

/** A certificate authority made of a self-signed root and an issuing intermediate, all PEM (keys PKCS#8). */
export type GeneratedCa = {
  rootCertPem: string;
  rootKeyPem: string;
  issuingCertPem: string;
  issuingKeyPem: string;
};

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const YEAR_MS = 365 * 24 * 3600 * 1000;

/** A random positive serial of 128 bits, as hex (RFC 5280 §4.1.2.2 allows up to 20 octets). */
export function randomSerialHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f | 0x01;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function keyPem(key: CryptoKey): Promise<string> {
  const pkcs8 = (await crypto.subtle.exportKey('pkcs8', key)) as ArrayBuffer;
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

/**
 * Generates a root CA and an issuing CA under it (ECDSA P-256), for development or for an operator without a CA of their own.
 * The root is valid for 20 years, the issuing CA for `issuingYears` (default 5).
 */
export async function generateCa(opts: { name?: string; issuingYears?: number } = {}): Promise<GeneratedCa> {
  const name = opts.name ?? 'Gatehouse';
  const now = new Date(Date.now() - 60_000);
  const rootKeys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: `CN=${name} Root CA`,
    notBefore: now,
    notAfter: new Date(now.getTime() + 20 * YEAR_MS),
    signingAlgorithm: SIGN,
    keys: rootKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const issuingKeys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const issuing = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: `CN=${name} Issuing CA ${bytesToBase64Url(crypto.getRandomValues(new Uint8Array(3)))}`,
    issuer: root.subject,
    notBefore: now,
    notAfter: new Date(now.getTime() + (opts.issuingYears ?? 5) * YEAR_MS),
    signingAlgorithm: SIGN,
    publicKey: issuingKeys.publicKey,
    signingKey: rootKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(issuingKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  return {
    rootCertPem: root.toString('pem'),
    rootKeyPem: await keyPem(rootKeys.privateKey),
    issuingCertPem: issuing.toString('pem'),
    issuingKeyPem: await keyPem(issuingKeys.privateKey),
  };
}
