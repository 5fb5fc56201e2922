import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { base64ToBytes, bytesToBase64, fromUtf8 } from '../encoding.ts';
import { children, DerError, encodeOid, encodeTlv, encodeUnsignedInteger, readWhole, slice, TAG } from './der.ts';
import { PkiInputInvalid, Pkcs7Invalid } from './errors.ts';
import { decodePem } from './pem.ts';

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_DATA = '1.2.840.113549.1.7.1';
const SIGNED_DATA_OID_DER = encodeOid(OID_SIGNED_DATA);

/** Largest PKCS#7 body the parser reads: a chain of a few certificates is a few KiB. */
export const PKCS7_MAX_BYTES = 64 * 1024;

/**
 * Builds a certs-only (degenerate) SignedData (RFC 5652 §5.1, RFC 7030 §4.1.3 and §4.2.3): no digest algorithms, an
 * encapsulated `id-data` without content, the certificates byte-for-byte in the given order, and no signers.
 */
export function certsOnlyPkcs7(certsDer: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  if (certsDer.length === 0) throw new PkiInputInvalid('certsOnlyPkcs7 needs at least one certificate');
  for (const cert of certsDer) {
    try {
      readWhole(cert, TAG.SEQUENCE);
    } catch {
      throw new PkiInputInvalid('certsOnlyPkcs7 takes whole DER certificates');
    }
  }
  // RFC 5652 §5.1: version 1 when there are no attribute certificates, other formats or v3 signers.
  const signedData = encodeTlv(
    TAG.SEQUENCE,
    encodeUnsignedInteger(1n),
    encodeTlv(TAG.SET),
    encodeTlv(TAG.SEQUENCE, encodeOid(OID_DATA)),
    encodeTlv(TAG.CONTEXT_0, ...certsDer),
    encodeTlv(TAG.SET),
  );
  return encodeTlv(TAG.SEQUENCE, SIGNED_DATA_OID_DER, encodeTlv(TAG.CONTEXT_0, signedData));
}

/**
 * Base64 for an EST body sent with `Content-Transfer-Encoding: base64` (RFC 7030 §4.1.3): lines of `lineLength`
 * characters (64 as PEM and openssl use, or the 76 of RFC 2045 §6.8) ending in CRLF.
 */
export function base64Body(der: Uint8Array, lineLength: 64 | 76 = 64): string {
  const lines = bytesToBase64(der).match(new RegExp(`.{1,${lineLength}}`, 'g')) ?? [];
  return lines.map((line) => `${line}\r\n`).join('');
}

function toDer(input: Uint8Array | string): Uint8Array {
  if (typeof input !== 'string' && input[0] === TAG.SEQUENCE) return input;
  const text = typeof input === 'string' ? input : fromUtf8(input);
  if (!text.includes('-----BEGIN')) return base64ToBytes(text);
  const block = decodePem(text).find((b) => b.label === 'PKCS7' || b.label === 'CMS');
  if (!block) throw new TypeError('no PKCS7 block');
  return block.der;
}

/**
 * Reads the certificates out of a certs-only SignedData, as DER in message order: the EST `cacerts` answer (the
 * chain) and the `simpleenroll` answer (the issued certificate). Accepts DER, base64 (the EST wire form) or PEM.
 * Signer infos are ignored: nothing here is trusted until the caller verifies the certificates themselves.
 */
export function parseCertsOnlyPkcs7(input: Uint8Array | string): Uint8Array<ArrayBuffer>[] {
  if (input.length > PKCS7_MAX_BYTES * 2) throw new Pkcs7Invalid('too large');
  let der: Uint8Array;
  try {
    der = toDer(input);
  } catch (e) {
    throw new Pkcs7Invalid(e instanceof Error ? e.message : 'undecodable');
  }
  if (der.length > PKCS7_MAX_BYTES) throw new Pkcs7Invalid('too large');
  const certs: Uint8Array<ArrayBuffer>[] = [];
  try {
    const [oid, explicit, ...rest] = children(der, readWhole(der, TAG.SEQUENCE));
    if (!oid || !explicit || rest.length || explicit.tag !== TAG.CONTEXT_0) throw new DerError('not a ContentInfo');
    if (!sameBytes(slice(der, oid), SIGNED_DATA_OID_DER)) throw new DerError('not SignedData');
    const [signedData, ...more] = children(der, explicit);
    if (!signedData || signedData.tag !== TAG.SEQUENCE || more.length) throw new DerError('bad SignedData wrapper');
    const [version, digestAlgs, encap, ...tail] = children(der, signedData);
    if (version?.tag !== TAG.INTEGER || digestAlgs?.tag !== TAG.SET || encap?.tag !== TAG.SEQUENCE) {
      throw new DerError('bad SignedData');
    }
    // RFC 5652 §5.1: certificates [0] IMPLICIT CertificateSet OPTIONAL; other CertificateChoices are tagged, skip them.
    const certSet = tail.find((t) => t.tag === TAG.CONTEXT_0);
    for (const choice of certSet ? children(der, certSet) : []) {
      if (choice.tag === TAG.SEQUENCE) certs.push(slice(der, choice));
    }
  } catch (e) {
    throw new Pkcs7Invalid(e instanceof Error ? e.message : 'bad DER');
  }
  if (certs.length === 0) throw new Pkcs7Invalid('no certificates');
  for (const cert of certs) {
    try {
      void new x509.X509Certificate(cert).subject;
    } catch {
      throw new Pkcs7Invalid('a certificate does not parse');
    }
  }
  return certs;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
