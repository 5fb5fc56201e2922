import { Hono } from 'hono';
import { encodeOid, encodeTlv, TAG } from '../../../lib/pki/der.ts';
import { base64Body } from '../../../lib/pki/pkcs7.ts';
import type { AppEnv } from '../../app-env.ts';

const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  secp256r1: '1.2.840.10045.3.1.7',
  secp384r1: '1.3.132.0.34',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ed25519: '1.3.101.112',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  serialNumber: '2.5.4.5',
} as const;

/**
 * The CsrAttrs Gatehouse sends (RFC 7030 §4.5.2): `SEQUENCE OF AttrOrOID`, where a bare OID names an algorithm or
 * attribute the request should use, and an Attribute narrows a key type to its allowed values (as the RFC's example
 * does for id-ecPublicKey and its curves). What it lists mirrors lib/pki/csr.ts: P-256/P-384 ECDSA, Ed25519, RSA
 * (≥ 2048), SHA-256/384 signatures, and the subject serialNumber that binds a serial-bound OTP.
 */
export function csrAttrsDer(): Uint8Array<ArrayBuffer> {
  const ecCurves = encodeTlv(TAG.SEQUENCE, encodeOid(OID.ecPublicKey), encodeTlv(TAG.SET, encodeOid(OID.secp256r1), encodeOid(OID.secp384r1)));
  return encodeTlv(
    TAG.SEQUENCE,
    ecCurves,
    encodeOid(OID.ed25519),
    encodeOid(OID.rsaEncryption),
    encodeOid(OID.ecdsaWithSha256),
    encodeOid(OID.ecdsaWithSha384),
    encodeOid(OID.sha256WithRsa),
    encodeOid(OID.serialNumber),
  );
}

const BODY = base64Body(csrAttrsDer());

/** `GET /.well-known/est/csrattrs` (RFC 7030 §4.5): no authentication, `application/csrattrs`, base64. */
export const csrattrs = new Hono<AppEnv>().get('/.well-known/est/csrattrs', (c) =>
  c.body(BODY, 200, { 'Content-Type': 'application/csrattrs', 'Content-Transfer-Encoding': 'base64', 'Cache-Control': 'public, max-age=86400' }),
);
