/**
 * Opening an organisation's end-to-end encrypted payloads (the connector's side of agent/events/seal.ts): a set of
 * private keys selected by the JWE's `kid` (several for rotation, as MultiFernet keeps several keys), one content
 * encryption and key management algorithm, and the `evt` header checked against the clear metadata, so a relabelled
 * ciphertext is refused. Runtime-neutral (jose), for the connector Worker, its setup script and tests.
 */
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { fromUtf8, utf8 } from '../encoding.ts';
import { EVENT_JWE_ALG, EVENT_JWE_ENC } from './jwe-header.ts';

/** Private decryption keys by kid. */
export type DecryptionKeys = ReadonlyMap<string, CryptoKey | Uint8Array>;

/** Why a payload could not be opened. */
export type OpenFailure = 'unknown_kid' | 'malformed' | 'corrupt' | 'relabelled' | 'not_json';

/** The outcome of opening a payload. */
export type Opened = { ok: true; kid: string; value: unknown } | { ok: false; reason: OpenFailure; detail: string };

const JWE_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** True when a value has the shape of a compact JWE (five base64url segments). */
export const looksLikeJwe = (v: unknown): v is string => typeof v === 'string' && v.length < 1_000_000 && JWE_SHAPE.test(v);

/** Parses ORG_ENCRYPTION_KEYS (a JSON array of private JWKs, or `{keys: [...]}`) into keys by kid. */
export async function importDecryptionKeys(text: string): Promise<DecryptionKeys> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('ORG_ENCRYPTION_KEYS is not JSON: give a JSON array of private P-256 JWKs, each with a kid');
  }
  const list = Array.isArray(raw) ? raw : typeof raw === 'object' && raw !== null && Array.isArray((raw as { keys?: unknown }).keys) ? (raw as { keys: unknown[] }).keys : undefined;
  if (!list || list.length === 0) throw new Error('ORG_ENCRYPTION_KEYS must be a non-empty JSON array of private JWKs (or {"keys": [...]})');
  const keys = new Map<string, CryptoKey | Uint8Array>();
  for (const [i, jwk] of list.entries()) {
    const k = jwk as JWK;
    if (typeof k !== 'object' || k === null || typeof k.kid !== 'string' || !k.kid) throw new Error(`ORG_ENCRYPTION_KEYS[${i}] needs a kid`);
    if (k.kty !== 'EC' || k.crv !== 'P-256' || typeof k.d !== 'string') throw new Error(`ORG_ENCRYPTION_KEYS[${i}] (kid ${k.kid}) must be a private EC P-256 JWK`);
    if (keys.has(k.kid)) throw new Error(`ORG_ENCRYPTION_KEYS has kid ${k.kid} twice`);
    keys.set(k.kid, await importJWK({ kty: k.kty, crv: k.crv, x: k.x, y: k.y, d: k.d }, EVENT_JWE_ALG));
  }
  return keys;
}

/**
 * Decrypts a compact JWE payload with the key its `kid` names; `expected`, when given, must equal the header's `evt`
 * (when the header has one). The plaintext must be JSON.
 */
export async function openPayload(jwe: string, keys: DecryptionKeys, expected?: { id: string; type: string; time: string }): Promise<Opened> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwe);
  } catch {
    return { ok: false, reason: 'malformed', detail: 'the JWE protected header is not base64url JSON' };
  }
  if (header.alg !== EVENT_JWE_ALG || header.enc !== EVENT_JWE_ENC) return { ok: false, reason: 'malformed', detail: `the JWE must be ${EVENT_JWE_ALG} + ${EVENT_JWE_ENC}` };
  const kid = typeof header.kid === 'string' ? header.kid : '';
  const key = keys.get(kid);
  if (!key) return { ok: false, reason: 'unknown_kid', detail: `no decryption key with kid "${kid}"` };
  const evt = header.evt as { id?: unknown; type?: unknown; time?: unknown } | undefined;
  if (evt !== undefined && expected && (evt.id !== expected.id || evt.type !== expected.type || evt.time !== expected.time)) {
    return { ok: false, reason: 'relabelled', detail: 'the JWE evt header does not match the record id, type and time' };
  }
  let plaintext: Uint8Array;
  try {
    plaintext = (await compactDecrypt(jwe, key, { keyManagementAlgorithms: [EVENT_JWE_ALG], contentEncryptionAlgorithms: [EVENT_JWE_ENC] })).plaintext;
  } catch {
    return { ok: false, reason: 'corrupt', detail: `the JWE does not decrypt with key "${kid}"` };
  }
  try {
    return { ok: true, kid, value: JSON.parse(fromUtf8(plaintext)) };
  } catch {
    return { ok: false, reason: 'not_json', detail: 'the decrypted payload is not JSON' };
  }
}

/** Encrypts a JSON value to an organisation public key, as devices do (used by the connector for encrypted appends). */
export async function sealPayload(value: unknown, key: { kid: string; key: CryptoKey | Uint8Array }, evt?: { id: string; type: string; time: string }): Promise<string> {
  return new CompactEncrypt(utf8(JSON.stringify(value)))
    .setProtectedHeader({ alg: EVENT_JWE_ALG, enc: EVENT_JWE_ENC, kid: key.kid, cty: 'application/json', ...(evt ? { evt } : {}) })
    .encrypt(key.key);
}
