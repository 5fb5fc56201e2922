import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { base64ToBytes, bytesToHex, fromUtf8 } from '../encoding.ts';
import { children, readWhole, TAG } from './der.ts';
import { CsrRejected } from './errors.ts';
import { cleanCommonName, cleanSerialNumber } from './ids.ts';
import { checkPublicKey, type DeviceKeyType } from './keys.ts';
import { decodePem } from './pem.ts';

/** What a request may be: its size bound and the key types accepted (default: P-256, P-384, Ed25519, RSA ≥ 2048). */
export type CsrPolicy = { maxBytes?: number; allowedKeyTypes?: readonly DeviceKeyType[] };

/** The only things Gatehouse takes from a request: the key, and the sanitised CN and serialNumber it asked for. */
export type CheckedCsr = {
  spki: Uint8Array<ArrayBuffer>;
  publicKey: CryptoKey;
  keyType: DeviceKeyType;
  commonName: string | null;
  serialNumber: string | null;
};

/** Default bound on a request body: a PKCS#10 with an RSA-8192 key is about 2.5 KiB of base64. */
export const CSR_MAX_BYTES = 16 * 1024;

const ALL_KEY_TYPES: readonly DeviceKeyType[] = ['ECDSA-P256', 'ECDSA-P384', 'Ed25519', 'RSA'];
const OID_SERIAL_NUMBER = '2.5.4.5';
const BER_LIMITS: x509.ParseOptions = { berOptions: { maxDepth: 32, maxNodes: 2048 } };

// Signature algorithms by the DER of their OID (RFC 5758 §3.2, RFC 4055 §5, RFC 8410 §3); SHA-1 is refused.
const SIGNATURE_FAMILY: Record<string, 'ECDSA' | 'RSA' | 'Ed25519'> = {
  '06082a8648ce3d040302': 'ECDSA',
  '06082a8648ce3d040303': 'ECDSA',
  '06082a8648ce3d040304': 'ECDSA',
  '06092a864886f70d01010b': 'RSA',
  '06092a864886f70d01010c': 'RSA',
  '06092a864886f70d01010d': 'RSA',
  '06032b6570': 'Ed25519',
};

/**
 * Decodes the body of an EST request: base64 DER (RFC 7030 §4.2.1, `application/pkcs10` with base64 transfer
 * encoding, any whitespace), PEM, or, leniently, raw DER bytes (`curl --data-binary @req.der`).
 */
function decodeBody(body: string | Uint8Array, maxBytes: number): Uint8Array<ArrayBuffer> {
  if (body.length > maxBytes) throw new CsrRejected('too_large', `${body.length} > ${maxBytes}`);
  if (typeof body !== 'string' && body[0] === TAG.SEQUENCE && (body[1] ?? 0) > 0x80) return new Uint8Array(body);
  const text = typeof body === 'string' ? body : fromUtf8(body);
  try {
    if (text.includes('-----BEGIN')) {
      const block = decodePem(text).find((b) => /^(NEW )?CERTIFICATE REQUEST$/.test(b.label));
      if (!block) throw new TypeError('no CERTIFICATE REQUEST block');
      return block.der;
    }
    return base64ToBytes(text);
  } catch (e) {
    throw new CsrRejected('malformed', e instanceof Error ? e.message : 'undecodable body');
  }
}

/** Splits CertificationRequest (RFC 2986 §4.1–4.2) into the SPKI and the signature algorithm, with strict DER framing. */
function frame(der: Uint8Array): { spki: Uint8Array<ArrayBuffer>; signatureOidHex: string } {
  try {
    const top = readWhole(der, TAG.SEQUENCE);
    const [info, sigAlg, sig, ...rest] = children(der, top);
    if (!info || info.tag !== TAG.SEQUENCE || sigAlg?.tag !== TAG.SEQUENCE || sig?.tag !== TAG.BIT_STRING || rest.length) {
      throw new Error('not a CertificationRequest');
    }
    const [version, subject, spki] = children(der, info);
    // RFC 2986 §4.1: version is 0 (v1), the only one defined.
    if (version?.tag !== TAG.INTEGER || bytesToHex(der.subarray(version.start, version.end)) !== '020100') {
      throw new Error('version is not v1');
    }
    if (subject?.tag !== TAG.SEQUENCE || spki?.tag !== TAG.SEQUENCE) throw new Error('bad CertificationRequestInfo');
    const [oid] = children(der, sigAlg);
    if (oid?.tag !== TAG.OID) throw new Error('bad signature AlgorithmIdentifier');
    return { spki: der.slice(spki.start, spki.end), signatureOidHex: bytesToHex(der.subarray(oid.start, oid.end)) };
  } catch (e) {
    throw new CsrRejected('malformed', e instanceof Error ? e.message : 'bad DER');
  }
}

function singleField(name: x509.Name, oid: string, clean: (raw: string) => string | null): string | null {
  let values: string[];
  try {
    values = name.getField(oid);
  } catch {
    throw new CsrRejected('bad_subject', `subject ${oid}: unreadable value`);
  }
  if (values.length === 0) return null;
  const [only] = values;
  const cleaned = values.length === 1 && only !== undefined ? clean(only) : null;
  if (cleaned === null) throw new CsrRejected('bad_subject', `subject ${oid}: ${values.length} value(s), not acceptable`);
  return cleaned;
}

/**
 * Parses and checks an enrolment request: bounded size, strict DER, a signature that verifies with the enclosed key
 * (proof of possession, RFC 7030 §3.4 and RFC 2986 §3), a key on the allow-list, and a printable, bounded subject.
 * Requested extensions and attributes are ignored, never copied. Every failure is a `CsrRejected`.
 */
export async function parseAndCheckCsr(body: string | Uint8Array, policy: CsrPolicy = {}): Promise<CheckedCsr> {
  const der = decodeBody(body, policy.maxBytes ?? CSR_MAX_BYTES);
  const { spki, signatureOidHex } = frame(der);

  const key = await checkPublicKey(spki);
  if (!key.ok) throw new CsrRejected('key_not_allowed', key.detail);
  const allowed = policy.allowedKeyTypes ?? ALL_KEY_TYPES;
  if (!allowed.includes(key.keyType)) throw new CsrRejected('key_not_allowed', key.keyType);
  const family = SIGNATURE_FAMILY[signatureOidHex];
  if (!family || !key.keyType.startsWith(family)) {
    throw new CsrRejected('bad_signature', `signature algorithm ${signatureOidHex} with a ${key.keyType} key`);
  }

  let csr: x509.Pkcs10CertificateRequest;
  let subject: x509.Name;
  try {
    csr = new x509.Pkcs10CertificateRequest(der, BER_LIMITS);
    subject = csr.subjectName;
  } catch (e) {
    throw new CsrRejected('malformed', e instanceof Error ? e.message : 'PKCS#10 does not parse');
  }
  let verified = false;
  try {
    verified = await csr.verify();
  } catch (e) {
    throw new CsrRejected('bad_signature', e instanceof Error ? e.message : 'verification failed');
  }
  if (!verified) throw new CsrRejected('bad_signature');

  return {
    spki: key.spki,
    publicKey: key.key,
    keyType: key.keyType,
    commonName: singleField(subject, 'CN', cleanCommonName),
    serialNumber: singleField(subject, OID_SERIAL_NUMBER, cleanSerialNumber),
  };
}
