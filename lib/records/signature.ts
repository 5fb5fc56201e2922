/**
 * Signed records: a detached compact JWS (RFC 7515 §7.1 with the payload left out, Appendix F) over the record's
 * canonical bytes (canonical.ts), with the signing key's `kid` and the explicit type `gatehouse-record+jws`
 * (RFC 8725 §3.11). Runtime-neutral (jose), for the Worker, the connector and any reader re-verifying the log.
 */
import { decodeProtectedHeader, flattenedVerify, FlattenedSign, importJWK, type CryptoKey, type JWK, type KeyObject } from 'jose';
import { bytesToBase64Url } from '../encoding.ts';
import { canonicalRecordBytes, type RecordContent } from './canonical.ts';
import { SIGNING_ALGS } from './jwk.ts';

/** The JOSE `typ` of a record signature. */
export const RECORD_JWS_TYP = 'gatehouse-record+jws';

/** Signs a record with the organisation's private signing key; returns `<header>..<signature>`. */
export async function signRecord(record: RecordContent, key: CryptoKey | KeyObject | Uint8Array, opts: { kid: string; alg: 'EdDSA' | 'Ed25519' | 'ES256' }): Promise<string> {
  const jws = await new FlattenedSign(canonicalRecordBytes(record)).setProtectedHeader({ alg: opts.alg, kid: opts.kid, typ: RECORD_JWS_TYP }).sign(key);
  return `${jws.protected ?? ''}..${jws.signature}`;
}

/** Why a signature was refused: malformed, naming an unknown (or retired) key, or not verifying. */
export type SignatureFailure = 'malformed' | 'unknown_kid' | 'retired_kid' | 'bad_signature';

/** The outcome of `verifyRecordSignature`. */
export type SignatureCheck = { ok: true; kid: string } | { ok: false; reason: SignatureFailure; detail: string };

/** A registered signing key as the verifier needs it. */
export type SigningKeyLookup = (kid: string) => { jwk: JWK & { crv?: string }; status: 'active' | 'retired' } | undefined;

/**
 * Verifies a record's detached JWS against the key its `kid` names. With `requireActive` (on append), a retired key is
 * refused; readers re-verifying history leave it off, since retired keys still verify what they signed.
 */
export async function verifyRecordSignature(record: RecordContent, jws: string, keyFor: SigningKeyLookup, opts: { requireActive?: boolean } = {}): Promise<SignatureCheck> {
  const parts = /^([A-Za-z0-9_-]+)\.\.([A-Za-z0-9_-]+)$/.exec(jws);
  if (!parts?.[1] || !parts[2]) return { ok: false, reason: 'malformed', detail: 'signature must be a detached compact JWS: <header>..<signature>' };
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(`${parts[1]}..${parts[2]}`);
  } catch {
    return { ok: false, reason: 'malformed', detail: 'signature header is not base64url JSON' };
  }
  if (header.typ !== RECORD_JWS_TYP) return { ok: false, reason: 'malformed', detail: `signature header typ must be "${RECORD_JWS_TYP}"` };
  if (header.crit !== undefined || header.b64 !== undefined) return { ok: false, reason: 'malformed', detail: 'signature header must not use crit or b64' };
  if (typeof header.kid !== 'string') return { ok: false, reason: 'malformed', detail: 'signature header kid is required' };
  const key = keyFor(header.kid);
  if (!key) return { ok: false, reason: 'unknown_kid', detail: `kid "${header.kid}" is not a signing key of this organisation` };
  if (opts.requireActive && key.status !== 'active') return { ok: false, reason: 'retired_kid', detail: `signing key "${header.kid}" is retired; sign with the active key` };
  const algorithms = SIGNING_ALGS[key.jwk.crv === 'Ed25519' ? 'Ed25519' : 'P-256'];
  try {
    const publicKey = await importJWK({ ...key.jwk, alg: undefined, use: undefined, key_ops: undefined }, header.alg);
    await flattenedVerify({ protected: parts[1], payload: bytesToBase64Url(canonicalRecordBytes(record)), signature: parts[2] }, publicKey, { algorithms });
    return { ok: true, kid: header.kid };
  } catch {
    return { ok: false, reason: 'bad_signature', detail: `the signature does not verify with key "${header.kid}" over the canonical record` };
  }
}
