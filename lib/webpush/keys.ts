/**
 * P-256 key handling for Web Push: subscription keys (RFC 8291 §3.1, uncompressed points), the application server's
 * VAPID key (RFC 8292 §3.2) and the ephemeral ECDH keys of each message. WebCrypto only, so the Worker and Node share it.
 */
import { base64ToBytes, bytesToBase64Url } from '../encoding.ts';

/** An uncompressed P-256 point (X9.62 §4.3.6: 0x04 || X || Y) is 65 bytes. */
export const P256_POINT_BYTES = 65;
/** The subscription's authentication secret is 16 bytes (RFC 8291 §3.2). */
export const AUTH_SECRET_BYTES = 16;

const ECDH = { name: 'ECDH', namedCurve: 'P-256' } as const;
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** A P-256 private JWK, as WebCrypto exports it. */
export type P256PrivateJwk = { kty: 'EC'; crv: 'P-256'; x: string; y: string; d: string };

/** Decodes base64url (or base64) text to bytes, throwing `TypeError` on anything else. */
export const fromBase64Url = (text: string): Uint8Array<ArrayBuffer> => base64ToBytes(text);

/** Splits an uncompressed point into JWK `x` and `y`, or throws `TypeError` when it is not one. */
export function pointToJwk(point: Uint8Array): { kty: 'EC'; crv: 'P-256'; x: string; y: string } {
  if (point.length !== P256_POINT_BYTES || point[0] !== 0x04) throw new TypeError('not an uncompressed P-256 point');
  return { kty: 'EC', crv: 'P-256', x: bytesToBase64Url(point.subarray(1, 33)), y: bytesToBase64Url(point.subarray(33)) };
}

/** Joins JWK `x` and `y` into an uncompressed point. */
export function jwkToPoint(jwk: { x: string; y: string }): Uint8Array<ArrayBuffer> {
  const x = fromBase64Url(jwk.x);
  const y = fromBase64Url(jwk.y);
  if (x.length !== 32 || y.length !== 32) throw new TypeError('P-256 coordinates must be 32 bytes');
  const point = new Uint8Array(P256_POINT_BYTES);
  point[0] = 0x04;
  point.set(x, 1);
  point.set(y, 33);
  return point;
}

/** Imports a subscription's `p256dh` point for ECDH; WebCrypto rejects points that are not on the curve. */
export const importEcdhPublicKey = (point: Uint8Array<ArrayBuffer>): Promise<CryptoKey> =>
  crypto.subtle.importKey('raw', point, ECDH, true, []);

/** Imports a P-256 private key (its `d` plus public point) for ECDH or for ES256 signing. */
export function importP256PrivateKey(d: string, point: Uint8Array, use: 'ecdh' | 'ecdsa'): Promise<CryptoKey> {
  const jwk = { ...pointToJwk(point), d };
  return use === 'ecdh'
    ? crypto.subtle.importKey('jwk', jwk, ECDH, false, ['deriveBits'])
    : crypto.subtle.importKey('jwk', jwk, ECDSA, false, ['sign']);
}

/** A fresh ECDH key pair and its raw public point: one per message (RFC 8291 §3.1). */
export async function generateEcdhKeyPair(): Promise<{ privateKey: CryptoKey; publicPoint: Uint8Array<ArrayBuffer> }> {
  const pair = (await crypto.subtle.generateKey(ECDH, true, ['deriveBits'])) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicPoint: new Uint8Array((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer) };
}

/** A new VAPID key pair as a private JWK (what setup stores in `VAPID_PRIVATE_KEY`). */
export async function generateVapidPrivateJwk(): Promise<P256PrivateJwk> {
  const pair = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey;
  if (!jwk.x || !jwk.y || !jwk.d) throw new Error('WebCrypto exported an incomplete P-256 JWK');
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, d: jwk.d };
}

/** Validates a subscription's `keys` (RFC 8291 §3.1-3.2): a point on P-256 and a 16-byte secret; returns why not, or null. */
export async function subscriptionKeysProblem(p256dh: string, auth: string): Promise<string | null> {
  let point: Uint8Array<ArrayBuffer>;
  let secret: Uint8Array;
  try {
    point = fromBase64Url(p256dh);
    secret = fromBase64Url(auth);
  } catch {
    return 'keys must be base64url';
  }
  if (point.length !== P256_POINT_BYTES || point[0] !== 0x04) return 'keys.p256dh must be a 65-byte uncompressed P-256 point';
  if (secret.length !== AUTH_SECRET_BYTES) return 'keys.auth must be 16 bytes';
  try {
    await importEcdhPublicKey(point);
  } catch {
    return 'keys.p256dh is not a point on P-256';
  }
  return null;
}
