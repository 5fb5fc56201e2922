import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { LoadedCa } from './ca.ts';
import { randomSerialHex } from './dev-ca.ts';
import { CaInvalid, PkiInputInvalid } from './errors.ts';
import { cleanSerialNumber, deviceUrn, fingerprintSha256Hex, isDeviceId } from './ids.ts';
import { checkPublicKey } from './keys.ts';
import { encodePem } from './pem.ts';

/** What a device certificate is made from: the key (SPKI DER or CryptoKey) and the identity Gatehouse assigned. */
export type IssueParams = {
  ca: LoadedCa;
  publicKey: CryptoKey | Uint8Array;
  deviceId: string;
  deviceSerial?: string | null;
  validityDays?: number;
  /** Where relying parties fetch the CRL (`<PUBLIC_URL>/pki/crl`). */
  crlUrl: string;
  now?: Date;
};

/** An issued certificate and the values stored with it. */
export type IssuedCertificate = {
  pem: string;
  der: Uint8Array<ArrayBuffer>;
  serialHex: string;
  fingerprintSha256Hex: string;
  notBefore: Date;
  notAfter: Date;
};

/** Default lifetime of a device certificate (issue 4). */
export const DEFAULT_VALIDITY_DAYS = 90;
const MAX_VALIDITY_DAYS = 825;
// Devices with drifting clocks would reject a certificate that starts "in the future".
const BACKDATE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;
const OID_SERIAL_NUMBER = '2.5.4.5';

const wholeSeconds = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);

async function spkiOf(publicKey: CryptoKey | Uint8Array): Promise<Uint8Array> {
  if (publicKey instanceof Uint8Array) return publicKey;
  let exported: unknown;
  try {
    exported = await crypto.subtle.exportKey('spki', publicKey);
  } catch {
    exported = null;
  }
  if (!(exported instanceof ArrayBuffer)) throw new PkiInputInvalid('publicKey cannot be exported as SPKI');
  return new Uint8Array(exported);
}

function checkCrlUrl(crlUrl: string): void {
  let url: URL;
  try {
    url = new URL(crlUrl);
  } catch {
    throw new PkiInputInvalid('crlUrl is not a URL');
  }
  // RFC 5280 §4.2.1.13: relying parties fetch the CRL over http (https works for most, but not for every client).
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PkiInputInvalid('crlUrl must be http(s)');
}

/**
 * Issues a device certificate under `ca` (RFC 5280 profile): a random positive 128-bit serial, subject
 * `CN=<deviceId>` (+ `serialNumber=<deviceSerial>`), SAN URI `urn:gatehouse:device:<id>`, BasicConstraints CA:false
 * and KeyUsage digitalSignature (both critical), EKU clientAuth, SKI, AKI and the CRL distribution point.
 * Nothing comes from the request but the key; validity is clipped to the issuing CA's own.
 */
export async function issueDeviceCertificate(params: IssueParams): Promise<IssuedCertificate> {
  const { ca, deviceId, validityDays = DEFAULT_VALIDITY_DAYS } = params;
  if (!isDeviceId(deviceId)) throw new PkiInputInvalid('deviceId');
  const serial = params.deviceSerial == null ? null : cleanSerialNumber(params.deviceSerial);
  if (params.deviceSerial != null && serial === null) throw new PkiInputInvalid('deviceSerial');
  if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > MAX_VALIDITY_DAYS) {
    throw new PkiInputInvalid('validityDays');
  }
  checkCrlUrl(params.crlUrl);
  const key = await checkPublicKey(await spkiOf(params.publicKey));
  if (!key.ok) throw new PkiInputInvalid(`publicKey: ${key.detail}`);

  const now = (params.now ?? new Date()).getTime();
  if (now < ca.cert.notBefore.getTime() || now > ca.cert.notAfter.getTime()) {
    throw new CaInvalid('the issuing CA is not valid now');
  }
  const notBefore = wholeSeconds(Math.max(now - BACKDATE_MS, ca.cert.notBefore.getTime()));
  const notAfter = wholeSeconds(Math.min(now + validityDays * DAY_MS, ca.cert.notAfter.getTime()));

  // Explicit string types: X520SerialNumber is a PrintableString; RFC 5280 §4.1.2.6 prefers UTF8String for the rest.
  const subject: x509.JsonNameParams = [{ CN: [{ utf8String: deviceId }] }];
  if (serial) subject.push({ [OID_SERIAL_NUMBER]: [{ printableString: serial }] });

  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: new x509.Name(subject),
    issuer: ca.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: key.spki,
    signingKey: ca.privateKey,
    signingAlgorithm: ca.signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: deviceUrn(deviceId) }], false),
      await x509.SubjectKeyIdentifierExtension.create(key.spki),
      new x509.AuthorityKeyIdentifierExtension(ca.keyIdHex, false),
      new x509.CRLDistributionPointsExtension([params.crlUrl], false),
    ],
  });
  const der = new Uint8Array(cert.rawData);
  return {
    // Our encoder ends the PEM with a newline, so PEM files can be concatenated into chains.
    pem: encodePem(der, 'CERTIFICATE'),
    der,
    serialHex: cert.serialNumber.toLowerCase(),
    fingerprintSha256Hex: await fingerprintSha256Hex(der),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}
