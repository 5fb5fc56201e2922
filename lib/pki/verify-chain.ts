import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { base64ToBytes } from '../encoding.ts';
import { issuedBy, isCaCertificate, type LoadedCa } from './ca.ts';
import { readWhole, TAG } from './der.ts';
import { ChainRejected } from './errors.ts';
import { canonicalSerialHex, deviceIdFromUrn, fingerprintSha256Hex, isDeviceId } from './ids.ts';
import { checkPublicKey, type DeviceKeyType } from './keys.ts';

export { fingerprintSha256Hex } from './ids.ts';

/** A device certificate that chains to the configured CA; its revocation status is the caller's to check (D1). */
export type VerifiedDevice = {
  deviceId: string;
  serialHex: string;
  fingerprintSha256Hex: string;
  publicKey: CryptoKey;
  spki: Uint8Array<ArrayBuffer>;
  keyType: DeviceKeyType;
  notBefore: Date;
  notAfter: Date;
};

const MAX_X5C = 5;
const MAX_CERT_CHARS = 12_000;
// Extensions a device certificate may mark critical; any other critical one must be refused (RFC 5280 §4.2).
const KNOWN_CRITICAL = new Set(['2.5.29.15', '2.5.29.17', '2.5.29.19', '2.5.29.37']);

function decode(x5c: readonly string[]): x509.X509Certificate[] {
  if (!Array.isArray(x5c) || x5c.length < 1 || x5c.length > MAX_X5C) throw new ChainRejected('malformed', 'x5c size');
  return x5c.map((b64, i) => {
    try {
      if (typeof b64 !== 'string' || b64.length > MAX_CERT_CHARS) throw new Error('entry too large');
      // RFC 7515 §4.1.6: each x5c entry is standard base64 of DER.
      const der = base64ToBytes(b64);
      readWhole(der, TAG.SEQUENCE);
      const cert = new x509.X509Certificate(der);
      void cert.subjectName;
      return cert;
    } catch (e) {
      throw new ChainRejected('malformed', `x5c[${i}]: ${e instanceof Error ? e.message : 'unreadable'}`);
    }
  });
}

/** Builds leaf → … → root, preferring configured CA certificates and using x5c's extra certificates only to reach one. */
async function buildPath(leaf: x509.X509Certificate, extras: x509.X509Certificate[], ca: LoadedCa) {
  const path = [leaf];
  for (let current = leaf; path.length <= MAX_X5C; ) {
    for (const [i, anchor] of ca.chain.entries()) {
      if (await issuedBy(current, anchor)) return [...path, ...ca.chain.slice(i)];
    }
    let next: x509.X509Certificate | undefined;
    for (const c of extras) if (!path.includes(c) && isCaCertificate(c) && (await issuedBy(current, c))) next = c;
    if (!next) break;
    path.push(next);
    current = next;
  }
  throw new ChainRejected('untrusted', `no path from "${leaf.issuer}" to the configured CA`);
}

function checkValidity(path: x509.X509Certificate[], now: Date): void {
  for (const cert of path) {
    if (now < cert.notBefore) throw new ChainRejected('not_yet_valid', cert.subject);
    if (now > cert.notAfter) throw new ChainRejected('expired', cert.subject);
  }
  // RFC 5280 §6.1.4 (l)–(m): a CA with pathLenConstraint n may have at most n intermediates below it.
  path.forEach((cert, j) => {
    const limit = j > 0 ? cert.getExtension(x509.BasicConstraintsExtension)?.pathLength : undefined;
    if (limit !== undefined && limit < j - 1) throw new ChainRejected('untrusted', `path too long at "${cert.subject}"`);
  });
}

/** The device id a leaf names, after checking it is an end-entity client certificate (RFC 5280 §4.2.1.9, §4.2.1.12). */
function deviceIdOf(leaf: x509.X509Certificate): string {
  const reject = (why: string): never => {
    throw new ChainRejected('not_device_certificate', why);
  };
  for (const ext of leaf.extensions) if (ext.critical && !KNOWN_CRITICAL.has(ext.type)) reject(`critical ${ext.type}`);
  if (leaf.getExtension(x509.BasicConstraintsExtension)?.ca) reject('leaf is a CA');
  const ku = leaf.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.digitalSignature) === 0) reject('no digitalSignature key usage');
  const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension);
  if (!eku?.usages.includes(x509.ExtendedKeyUsage.clientAuth)) reject('no clientAuth extended key usage');

  const uris = leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.filter((n) => n.type === 'url') ?? [];
  const fromSan = uris.map((n) => deviceIdFromUrn(n.value)).filter((id): id is string => id !== null);
  const cns = leaf.subjectName.getField('CN');
  if (fromSan.length > 1 || cns.length > 1) reject('several device names');
  const [sanId] = fromSan;
  const [cn] = cns;
  if (sanId !== undefined && cn !== undefined && sanId !== cn) reject('CN and SAN URI disagree');
  const id = sanId ?? cn;
  if (id === undefined || !isDeviceId(id)) return reject('no device id');
  return id;
}

/**
 * Verifies a device's certificate chain (the `x5c` of its JWT, RFC 7515 §4.1.6: base64 DER, leaf first) against the
 * configured CA: every signature up to a configured certificate (the issuing CA, or through x5c's intermediates, as
 * after an issuing-CA rotation, up to the configured root), every validity period at `now`, a non-CA leaf with
 * clientAuth and an allowed key. Revocation is not checked here. Every failure is a `ChainRejected`.
 */
export async function verifyDeviceChain(
  x5c: readonly string[],
  ca: LoadedCa,
  now: Date = new Date(),
): Promise<VerifiedDevice> {
  const [leaf, ...extras] = decode(x5c);
  if (!leaf) throw new ChainRejected('malformed', 'empty x5c');
  let deviceId: string;
  let path: x509.X509Certificate[];
  try {
    path = await buildPath(leaf, extras, ca);
    checkValidity(path, now);
    deviceId = deviceIdOf(leaf);
  } catch (e) {
    if (e instanceof ChainRejected) throw e;
    throw new ChainRejected('malformed', e instanceof Error ? e.message : 'unreadable extension');
  }
  const key = await checkPublicKey(new Uint8Array(leaf.publicKey.rawData));
  if (!key.ok) throw new ChainRejected('not_device_certificate', key.detail);
  const serialHex = canonicalSerialHex(leaf.serialNumber);
  if (serialHex === null) throw new ChainRejected('malformed', 'serial');
  const der = new Uint8Array(leaf.rawData);
  return {
    deviceId,
    serialHex,
    fingerprintSha256Hex: await fingerprintSha256Hex(der),
    publicKey: key.key,
    spki: key.spki,
    keyType: key.keyType,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
  };
}
