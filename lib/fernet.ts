/**
 * Fernet tokens (https://github.com/fernet/spec/blob/master/Spec.md), byte-compatible with Python `cryptography`:
 * base64url(0x80 ‖ timestamp(8, BE) ‖ IV(16) ‖ AES-128-CBC-PKCS7(plaintext) ‖ HMAC-SHA256(everything before it)).
 * Only WebCrypto is used, so the same code runs in workerd and in Node.
 */
import { base64ToBytes, bytesToBase64, fromUtf8, utf8 } from './encoding.ts';

const VERSION = 0x80;
const HEADER_BYTES = 1 + 8 + 16;
const MAC_BYTES = 32;
const BLOCK_BYTES = 16;
/** Python `cryptography` `_MAX_CLOCK_SKEW`: tokens stamped further in the future than this are refused. */
const MAX_CLOCK_SKEW_SECONDS = 60;

/** Thrown for every key that is not 32 bytes of URL-safe base64 with padding. */
export class InvalidFernetKey extends Error {
  override name = 'InvalidFernetKey';
}

/** Why a token was refused: coarse on purpose, so the message never says which byte or check failed. */
export type FernetFailure = 'malformed' | 'signature' | 'expired';

/** Thrown for every token that cannot be verified or decrypted. */
export class InvalidFernetToken extends Error {
  override name = 'InvalidFernetToken';
  readonly reason: FernetFailure;
  constructor(reason: FernetFailure) {
    super(`invalid Fernet token (${reason})`);
    this.reason = reason;
  }
}

/** The two halves of a Fernet key as raw bytes (Spec.md "Key Format"). */
export interface FernetKeyBytes {
  readonly signingKey: Uint8Array<ArrayBuffer>;
  readonly encryptionKey: Uint8Array<ArrayBuffer>;
}

/** A Fernet key imported into WebCrypto once, so the hot path never re-imports it. */
export interface FernetKey {
  readonly signing: CryptoKey;
  readonly encryption: CryptoKey;
}

/** Options for `fernetEncrypt`; `now` (Unix seconds) and `iv` exist so the spec vectors can be reproduced. */
export interface FernetEncryptOptions {
  now?: number;
  iv?: Uint8Array;
}

/** Options for `fernetDecrypt`: a maximum age in seconds and the current time (Unix seconds) to judge it by. */
export interface FernetDecryptOptions {
  ttlSeconds?: number;
  now?: number;
}

/** Splits a 32-byte URL-safe base64 key (as `Fernet.generate_key()` writes it) into its signing and encryption halves. */
export function parseFernetKey(key: string): FernetKeyBytes {
  // 32 bytes encode to 43 characters plus one '=': the only form Python's urlsafe_b64decode accepts with length 32.
  if (!/^[A-Za-z0-9_-]{43}=$/.test(key)) {
    throw new InvalidFernetKey('Fernet key must be 32 bytes of URL-safe base64 with padding (44 characters)');
  }
  const bytes = base64ToBytes(key);
  return { signingKey: bytes.slice(0, 16), encryptionKey: bytes.slice(16, 32) };
}

/** Parses a key and imports both halves as non-extractable WebCrypto keys. */
export async function importFernetKey(key: string): Promise<FernetKey> {
  const { signingKey, encryptionKey } = parseFernetKey(key);
  const [signing, encryption] = await Promise.all([
    crypto.subtle.importKey('raw', signingKey, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']),
    crypto.subtle.importKey('raw', encryptionKey, { name: 'AES-CBC' }, false, ['encrypt', 'decrypt']),
  ]);
  return { signing, encryption };
}

const resolveKey = (key: string | FernetKey): Promise<FernetKey> =>
  typeof key === 'string' ? importFernetKey(key) : Promise.resolve(key);

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Encrypts and signs `plaintext` into a Fernet token (URL-safe base64 with padding). */
export async function fernetEncrypt(
  key: string | FernetKey,
  plaintext: Uint8Array | string,
  opts: FernetEncryptOptions = {},
): Promise<string> {
  const { signing, encryption } = await resolveKey(key);
  const now = opts.now ?? nowSeconds();
  if (!Number.isSafeInteger(now) || now < 0) throw new RangeError('Fernet timestamp must be a non-negative integer');
  const iv = opts.iv ? new Uint8Array(opts.iv) : crypto.getRandomValues(new Uint8Array(16));
  if (iv.length !== 16) throw new RangeError('Fernet IV must be 16 bytes');
  const data = typeof plaintext === 'string' ? utf8(plaintext) : new Uint8Array(plaintext);
  // WebCrypto AES-CBC applies PKCS#7 padding itself (WebCrypto §27.3).
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CBC', iv }, encryption, data));
  const signed = new Uint8Array(HEADER_BYTES + ciphertext.length);
  signed[0] = VERSION;
  new DataView(signed.buffer).setBigUint64(1, BigInt(now));
  signed.set(iv, 9);
  signed.set(ciphertext, HEADER_BYTES);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', signing, signed));
  const token = new Uint8Array(signed.length + MAC_BYTES);
  token.set(signed);
  token.set(mac, signed.length);
  return bytesToBase64(token).replaceAll('+', '-').replaceAll('/', '_');
}

/** A token whose structure is sound but whose MAC has not yet been checked. */
interface UnverifiedToken {
  readonly signed: Uint8Array<ArrayBuffer>;
  readonly mac: Uint8Array<ArrayBuffer>;
  readonly timestamp: number;
}

/** Checks only what anyone can check without a key: alphabet, padding, version and length. */
function parseToken(token: string): UnverifiedToken {
  if (token.length % 4 !== 0 || !/^[A-Za-z0-9_-]*={0,2}$/.test(token)) throw new InvalidFernetToken('malformed');
  const bytes = base64ToBytes(token);
  const cipherBytes = bytes.length - HEADER_BYTES - MAC_BYTES;
  if (bytes[0] !== VERSION || cipherBytes < BLOCK_BYTES || cipherBytes % BLOCK_BYTES !== 0) {
    throw new InvalidFernetToken('malformed');
  }
  // Timestamps beyond 2^53 s lose precision as a number, but they are refused as far-future anyway.
  const timestamp = Number(new DataView(bytes.buffer).getBigUint64(1));
  return { signed: bytes.subarray(0, bytes.length - MAC_BYTES), mac: bytes.subarray(bytes.length - MAC_BYTES), timestamp };
}

/** Constant-time MAC check: WebCrypto `verify` compares in constant time in both workerd (BoringSSL) and Node. */
const macMatches = (key: FernetKey, token: UnverifiedToken): Promise<boolean> =>
  crypto.subtle.verify('HMAC', key.signing, token.mac, token.signed);

function checkTime(timestamp: number, opts: FernetDecryptOptions): void {
  const now = opts.now ?? nowSeconds();
  if (opts.ttlSeconds !== undefined && timestamp + opts.ttlSeconds < now) throw new InvalidFernetToken('expired');
  // Python checks skew only when a ttl is given; a token from the future is refused here in every case.
  if (now + MAX_CLOCK_SKEW_SECONDS < timestamp) throw new InvalidFernetToken('expired');
}

/** Decrypts a token whose MAC has already been verified under `key`. */
async function decryptVerified(key: FernetKey, token: UnverifiedToken): Promise<Uint8Array<ArrayBuffer>> {
  try {
    const iv = token.signed.subarray(9, HEADER_BYTES);
    const ciphertext = token.signed.subarray(HEADER_BYTES);
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CBC', iv }, key.encryption, ciphertext));
  } catch {
    // Only reachable with a valid MAC, so this is no padding oracle.
    throw new InvalidFernetToken('malformed');
  }
}

/** Finds the first key whose MAC matches, or throws; the MAC is always checked before any decryption. */
async function verifyWithAny(keys: readonly FernetKey[], token: UnverifiedToken): Promise<FernetKey> {
  for (const key of keys) if (await macMatches(key, token)) return key;
  throw new InvalidFernetToken('signature');
}

/** Verifies (in constant time), checks the age of, and decrypts a Fernet token. */
export async function fernetDecrypt(
  key: string | FernetKey,
  token: string,
  opts: FernetDecryptOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const parsed = parseToken(token);
  const imported = await resolveKey(key);
  await verifyWithAny([imported], parsed);
  checkTime(parsed.timestamp, opts);
  return decryptVerified(imported, parsed);
}

/** A key ring like Python's `MultiFernet`: the first key encrypts, every key decrypts. */
export interface MultiFernet {
  /** Encrypts under the primary key with the current time. */
  encrypt(plaintext: Uint8Array | string): Promise<string>;
  /** Decrypts a token made under any key of the ring. */
  decrypt(token: string, opts?: FernetDecryptOptions): Promise<Uint8Array<ArrayBuffer>>;
  /** Decrypts a token to UTF-8 text. */
  decryptText(token: string, opts?: FernetDecryptOptions): Promise<string>;
  /** Re-encrypts under the primary key with a fresh IV, keeping the original timestamp (no age check). */
  rotate(token: string): Promise<string>;
}

/** Builds a key ring from a key list or the comma-separated `CLAIMS_FERNET_KEYS` secret; keys are imported once. */
export function createMultiFernet(keys: string | readonly string[]): MultiFernet {
  const list = (typeof keys === 'string' ? keys.split(',') : keys).map((k) => k.trim()).filter((k) => k !== '');
  if (list.length === 0) throw new InvalidFernetKey('at least one Fernet key is required');
  // Validate synchronously so a bad secret fails at start-up; import lazily because this may run at module scope.
  for (const key of list) parseFernetKey(key);
  let ring: Promise<FernetKey[]> | undefined;
  const imported = (): Promise<FernetKey[]> => (ring ??= Promise.all(list.map(importFernetKey)));
  const primary = async (): Promise<FernetKey> => {
    const [first] = await imported();
    if (!first) throw new InvalidFernetKey('at least one Fernet key is required');
    return first;
  };

  const open = async (token: string, opts: FernetDecryptOptions | undefined) => {
    const parsed = parseToken(token);
    const key = await verifyWithAny(await imported(), parsed);
    if (opts) checkTime(parsed.timestamp, opts);
    return { plaintext: await decryptVerified(key, parsed), timestamp: parsed.timestamp };
  };

  return {
    encrypt: async (plaintext) => fernetEncrypt(await primary(), plaintext),
    decrypt: async (token, opts = {}) => (await open(token, opts)).plaintext,
    decryptText: async (token, opts = {}) => fromUtf8((await open(token, opts)).plaintext),
    rotate: async (token) => {
      // Like MultiFernet.rotate: no ttl/skew check, the original timestamp carries over.
      const { plaintext, timestamp } = await open(token, undefined);
      return fernetEncrypt(await primary(), plaintext, { now: timestamp });
    },
  };
}
