/**
 * Web Push message encryption (RFC 8291) in the `aes128gcm` content coding (RFC 8188), on WebCrypto. One record of
 * record size 4096 carries the whole message, so the body is the 86-byte header followed by one AES-128-GCM record.
 */
import { concatBytes, utf8 } from '../encoding.ts';
import { AUTH_SECRET_BYTES, generateEcdhKeyPair, importEcdhPublicKey, P256_POINT_BYTES } from './keys.ts';

/** The record size Gatehouse writes (RFC 8291 §4 recommends 4096). */
export const RECORD_SIZE = 4096;
/** Salt (16) + rs (4) + idlen (1) + keyid (65): the header of RFC 8188 §2.1 with RFC 8291's keyid. */
export const HEADER_BYTES = 16 + 4 + 1 + P256_POINT_BYTES;
/** The largest plaintext that fits a 4096-byte push message (RFC 8291 §4: 4096 − 86 − 16 − 1). */
export const MAX_PLAINTEXT_BYTES = RECORD_SIZE - HEADER_BYTES - 16 - 1;

const TAG_BYTES = 16;

/** Inputs that are random in production and fixed by the RFC 8291 Appendix A test vector. */
export type EncryptOverrides = {
  salt?: Uint8Array<ArrayBuffer>;
  /** The application server's ephemeral ECDH key pair (`as_private`, `as_public`). */
  sender?: { privateKey: CryptoKey; publicPoint: Uint8Array<ArrayBuffer> };
};

async function hkdf(salt: Uint8Array<ArrayBuffer>, ikm: Uint8Array<ArrayBuffer>, info: Uint8Array<ArrayBuffer>, bytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, key, bytes * 8));
}

/** RFC 8291 §3.3-3.4 and RFC 8188 §2.2-2.3: the content-encryption key and nonce of one message. */
async function deriveKeyAndNonce(p: { ecdhSecret: Uint8Array<ArrayBuffer>; authSecret: Uint8Array<ArrayBuffer>; uaPublic: Uint8Array; asPublic: Uint8Array; salt: Uint8Array<ArrayBuffer> }) {
  // key_info = "WebPush: info" || 0x00 || ua_public || as_public (RFC 8291 §3.4)
  const keyInfo = concatBytes(utf8('WebPush: info\0'), p.uaPublic, p.asPublic);
  const ikm = await hkdf(p.authSecret, p.ecdhSecret, keyInfo, 32);
  const cek = await hkdf(p.salt, ikm, utf8('Content-Encoding: aes128gcm\0'), 16);
  const nonce = await hkdf(p.salt, ikm, utf8('Content-Encoding: nonce\0'), 12);
  return { key: await crypto.subtle.importKey('raw', cek, 'AES-GCM', false, ['encrypt', 'decrypt']), nonce };
}

// WebCrypto's member is `public` (W3C WebCrypto §EcdhKeyDeriveParams); workers-types spells it `$public`, so cast.
type DeriveAlgorithm = Parameters<typeof crypto.subtle.deriveBits>[0];
const ecdh = async (privateKey: CryptoKey, publicKey: CryptoKey) =>
  new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: publicKey } as unknown as DeriveAlgorithm, privateKey, 256));

/**
 * Encrypts a push message for a subscription (`keys.p256dh`, `keys.auth`) as RFC 8291 §4 prescribes: a fresh ECDH
 * key pair and salt, keyid = the sender's public point, one record ending in the 0x02 delimiter, no padding.
 * Throws `RangeError` when the plaintext exceeds MAX_PLAINTEXT_BYTES and `TypeError` on malformed keys.
 */
export async function encryptAes128gcm(
  plaintext: Uint8Array<ArrayBuffer>,
  subscription: { uaPublic: Uint8Array<ArrayBuffer>; authSecret: Uint8Array<ArrayBuffer> },
  overrides: EncryptOverrides = {},
): Promise<Uint8Array<ArrayBuffer>> {
  if (plaintext.length > MAX_PLAINTEXT_BYTES) throw new RangeError(`a push message holds at most ${MAX_PLAINTEXT_BYTES} bytes`);
  if (subscription.authSecret.length !== AUTH_SECRET_BYTES) throw new TypeError('the auth secret must be 16 bytes');
  const uaKey = await importEcdhPublicKey(subscription.uaPublic);
  const sender = overrides.sender ?? (await generateEcdhKeyPair());
  const salt = overrides.salt ?? crypto.getRandomValues(new Uint8Array(16));
  const { key, nonce } = await deriveKeyAndNonce({
    ecdhSecret: await ecdh(sender.privateKey, uaKey),
    authSecret: subscription.authSecret,
    uaPublic: subscription.uaPublic,
    asPublic: sender.publicPoint,
    salt,
  });
  // RFC 8188 §2: the last (here, only) record's padding delimiter is 0x02; the sequence number is 0, so the nonce is as derived.
  const record = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce }, key, concatBytes(plaintext, Uint8Array.of(2))));
  const header = new Uint8Array(HEADER_BYTES);
  header.set(salt, 0);
  new DataView(header.buffer).setUint32(16, RECORD_SIZE);
  header[20] = P256_POINT_BYTES;
  header.set(sender.publicPoint, 21);
  return concatBytes(header, record);
}

/**
 * Decrypts a single-record `aes128gcm` push message with the subscription's private key (the browser's side of
 * RFC 8291 §3), for tests and receivers. Throws `TypeError` when the message is malformed or fails authentication.
 */
export async function decryptAes128gcm(
  body: Uint8Array<ArrayBuffer>,
  subscription: { uaPrivate: CryptoKey; uaPublic: Uint8Array; authSecret: Uint8Array<ArrayBuffer> },
): Promise<Uint8Array<ArrayBuffer>> {
  if (body.length < HEADER_BYTES + TAG_BYTES + 1) throw new TypeError('message too short');
  const salt = body.slice(0, 16);
  const rs = new DataView(body.buffer, body.byteOffset).getUint32(16);
  const idlen = body[20] ?? 0;
  if (idlen !== P256_POINT_BYTES) throw new TypeError('keyid is not a P-256 point');
  const asPublic = body.slice(21, 21 + idlen);
  const record = body.slice(21 + idlen);
  if (record.length > rs) throw new TypeError('more than one record');
  const { key, nonce } = await deriveKeyAndNonce({
    ecdhSecret: await ecdh(subscription.uaPrivate, await importEcdhPublicKey(asPublic)),
    authSecret: subscription.authSecret,
    uaPublic: subscription.uaPublic,
    asPublic,
    salt,
  });
  let padded: Uint8Array;
  try {
    padded = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: nonce }, key, record));
  } catch {
    throw new TypeError('the record does not authenticate');
  }
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new TypeError('missing last-record delimiter');
  return padded.slice(0, end);
}
