/**
 * Device keys and certificate requests, runtime-neutral (WebCrypto and @peculiar/x509 only), so the Node agent and the
 * workerd tests build requests the same way.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const OID_SERIAL_NUMBER = '2.5.4.5';

/** A fresh ECDSA P-256 device key pair; the private key is extractable only so that it can be written to the state dir. */
export async function generateDeviceKey(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/**
 * A PKCS#10 request (RFC 2986) for `keys`, as DER. The server assigns the CN itself; the device serial, when given,
 * goes in the subject serialNumber attribute (a PrintableString, RFC 5280 Appendix A.1), which binds serial-bound OTPs.
 */
export async function buildCsr(keys: CryptoKeyPair, opts: { serial?: string | null } = {}): Promise<Uint8Array<ArrayBuffer>> {
  const name: x509.JsonNameParams = [{ CN: [{ utf8String: 'gatehouse-agent' }] }];
  if (opts.serial) name.push({ [OID_SERIAL_NUMBER]: [{ printableString: opts.serial }] });
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: new x509.Name(name), keys, signingAlgorithm: SIGNING_ALGORITHM });
  return new Uint8Array(csr.rawData);
}

/** The private key as unencrypted PKCS#8 PEM (RFC 5208, RFC 7468 §10), as the state dir stores it. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = (await crypto.subtle.exportKey('pkcs8', key)) as ArrayBuffer;
  return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`;
}

/** Imports a PKCS#8 PEM P-256 key for signing device JWTs; the imported key is not extractable. */
export async function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return crypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign']);
}

/** The SubjectPublicKeyInfo DER of a public key, to match an issued certificate against the key that asked for it. */
export async function spkiOf(publicKey: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array((await crypto.subtle.exportKey('spki', publicKey)) as ArrayBuffer);
}
