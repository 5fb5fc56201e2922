/** Shared set-up for the PKI unit tests: a fresh CA per test, device keys, requests and hand-made certificates. */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { bytesToBase64 } from '../encoding.ts';
import { loadCa, type LoadedCa } from './ca.ts';
import { generateCa, randomSerialHex, type GeneratedCa } from './dev-ca.ts';

/** The CRL URL the tests put in certificates. */
export const CRL_URL = 'http://127.0.0.1:8787/pki/crl';

/** A generated dev CA and the same CA loaded for signing. */
export async function makeCa(name = 'Test'): Promise<{ generated: GeneratedCa; ca: LoadedCa }> {
  const generated = await generateCa({ name });
  const ca = await loadCa({
    certPem: generated.issuingCertPem,
    keyPem: generated.issuingKeyPem,
    chainPem: generated.rootCertPem,
  });
  return { generated, ca };
}

/** Key pair algorithms the tests generate with WebCrypto, and how each signs a request. */
export const KEY_ALGS = {
  'ECDSA-P256': { gen: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  'ECDSA-P384': { gen: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } },
  Ed25519: { gen: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
  'RSA-2048': {
    gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  },
} as const;

/** A device key pair. */
export async function deviceKeys(kind: keyof typeof KEY_ALGS = 'ECDSA-P256'): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(KEY_ALGS[kind].gen, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** A PKCS#10 request built with @peculiar/x509, as the agent builds it. */
export async function makeCsr(
  opts: {
    kind?: keyof typeof KEY_ALGS;
    keys?: CryptoKeyPair;
    name?: x509.JsonNameParams | string;
    extensions?: x509.Extension[];
  } = {},
): Promise<{ der: Uint8Array<ArrayBuffer>; pem: string; keys: CryptoKeyPair }> {
  const kind = opts.kind ?? 'ECDSA-P256';
  const keys = opts.keys ?? (await deviceKeys(kind));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: new x509.Name(opts.name ?? 'CN=requested-name, 2.5.4.5=SN-0001'),
    keys,
    signingAlgorithm: KEY_ALGS[kind].sign,
    extensions: opts.extensions ?? [],
  });
  return { der: new Uint8Array(csr.rawData), pem: csr.toString('pem'), keys };
}

/** A certificate signed by `ca` with whatever the test wants, to build the negative cases. */
export async function handMadeCert(
  ca: LoadedCa,
  opts: { subject?: string; publicKey: CryptoKey; extensions: x509.Extension[]; notBefore?: Date; notAfter?: Date },
): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: opts.subject ?? 'CN=hand-made',
    issuer: ca.cert.subjectName,
    notBefore: opts.notBefore ?? new Date(Date.now() - 60_000),
    notAfter: opts.notAfter ?? new Date(Date.now() + 86_400_000),
    publicKey: opts.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: ca.signingAlgorithm,
    extensions: opts.extensions,
  });
}

/** Standard base64 of DER, as one `x5c` entry. */
export const b64 = (der: ArrayBuffer | Uint8Array): string =>
  bytesToBase64(der instanceof Uint8Array ? der : new Uint8Array(der));

/** Exports a key as SPKI or PKCS#8 bytes (workerd's typings say exportKey may return a JWK, so narrow). */
export async function exportDer(format: 'spki' | 'pkcs8', key: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  const out: unknown = await crypto.subtle.exportKey(format, key);
  if (!(out instanceof ArrayBuffer)) throw new TypeError('exportKey did not return bytes');
  return new Uint8Array(out);
}

/** A private key as PKCS#8 PEM, as the CA_KEY secret holds it. */
export const pkcs8Pem = async (key: CryptoKey): Promise<string> =>
  x509.PemConverter.encode(await exportDer('pkcs8', key), 'PRIVATE KEY');

/** A two-level CA whose keys are P-384 or RSA-2048 (the dev CA is P-256), as PEM like the secrets hold it. */
export async function otherAlgorithmCa(kind: 'ECDSA-P384' | 'RSA-2048'): Promise<GeneratedCa> {
  const { gen, sign } = KEY_ALGS[kind];
  const rootKeys = (await crypto.subtle.generateKey(gen, true, ['sign', 'verify'])) as CryptoKeyPair;
  const issuingKeys = (await crypto.subtle.generateKey(gen, true, ['sign', 'verify'])) as CryptoKeyPair;
  const caExtensions = async (keys: CryptoKeyPair, pathLength: number) => [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${kind} Root`,
    keys: rootKeys,
    signingAlgorithm: sign,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 10 * 365 * 86_400_000),
    extensions: await caExtensions(rootKeys, 1),
  });
  const issuing = await x509.X509CertificateGenerator.create({
    subject: `CN=${kind} Issuing`,
    issuer: root.subject,
    publicKey: issuingKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: sign,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 5 * 365 * 86_400_000),
    extensions: await caExtensions(issuingKeys, 0),
  });
  return {
    rootCertPem: root.toString('pem'),
    rootKeyPem: await pkcs8Pem(rootKeys.privateKey),
    issuingCertPem: issuing.toString('pem'),
    issuingKeyPem: await pkcs8Pem(issuingKeys.privateKey),
  };
}
