/**
 * Voluntary Application Server Identification (RFC 8292): an ES256 JWT naming the push service (`aud`), an expiry
 * of at most 24 hours and a contact (`sub`), sent with the server's public key in `Authorization: vapid t=…, k=…`.
 */
import { bytesToBase64Url, utf8 } from '../encoding.ts';
import { fromBase64Url, importP256PrivateKey, jwkToPoint, pointToJwk } from './keys.ts';

/** RFC 8292 §2: `exp` must not be more than 24 hours after the request. */
export const VAPID_MAX_LIFETIME_SECONDS = 24 * 60 * 60;

/** The application server's key: an ES256 signing key and its public point (base64url), the `k` parameter. */
export type VapidKeys = { privateKey: CryptoKey; publicKey: string };

const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

function parseJwk(text: string): { d: string; point: Uint8Array<ArrayBuffer> } {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw new Error('VAPID_PRIVATE_KEY is neither a JWK nor a base64url private key');
  }
  const j = jwk as Record<string, unknown>;
  if (j.kty !== 'EC' || j.crv !== 'P-256' || typeof j.d !== 'string' || typeof j.x !== 'string' || typeof j.y !== 'string') {
    throw new Error('VAPID_PRIVATE_KEY must be a private P-256 JWK (kty EC, crv P-256, x, y, d)');
  }
  return { d: j.d, point: jwkToPoint({ x: j.x, y: j.y }) };
}

/**
 * Loads the VAPID key from its secret: a private P-256 JWK, or (the format `web-push generate-vapid-keys` prints) a
 * base64url private scalar together with the base64url public point. Checks that both halves belong together.
 * Errors name the setting but never include key material.
 */
export async function loadVapidKeys(privateKey: string, publicKey?: string): Promise<VapidKeys> {
  const text = privateKey.trim();
  let d: string;
  let point: Uint8Array<ArrayBuffer>;
  if (text.startsWith('{')) {
    ({ d, point } = parseJwk(text));
    if (publicKey?.trim() && bytesToBase64Url(point) !== bytesToBase64Url(fromBase64Url(publicKey.trim()))) {
      throw new Error('VAPID_PUBLIC_KEY does not match VAPID_PRIVATE_KEY');
    }
  } else {
    if (!publicKey?.trim()) throw new Error('VAPID_PUBLIC_KEY is required when VAPID_PRIVATE_KEY is not a JWK');
    point = fromBase64Url(publicKey.trim());
    d = text;
    if (fromBase64Url(d).length !== 32) throw new Error('VAPID_PRIVATE_KEY must be a 32-byte base64url scalar');
  }
  pointToJwk(point);
  let signer: CryptoKey;
  try {
    signer = await importP256PrivateKey(d, point, 'ecdsa');
  } catch {
    // Some runtimes check that d and the point belong together on import; the others are caught by the probe below.
    throw new Error('VAPID_PUBLIC_KEY does not match VAPID_PRIVATE_KEY');
  }
  const verifier = await crypto.subtle.importKey('raw', point, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  const probe = utf8('vapid key check');
  if (!(await crypto.subtle.verify(ECDSA_SHA256, verifier, await crypto.subtle.sign(ECDSA_SHA256, signer, probe), probe))) {
    throw new Error('VAPID_PUBLIC_KEY does not match VAPID_PRIVATE_KEY');
  }
  return { privateKey: signer, publicKey: bytesToBase64Url(point) };
}

/** The JWT audience for a push endpoint: its origin (RFC 8292 §2). */
export const pushAudience = (endpoint: string): string => new URL(endpoint).origin;

const segment = (value: unknown) => bytesToBase64Url(utf8(JSON.stringify(value)));

/**
 * Signs the VAPID JWT (RFC 8292 §2, JWS ES256 per RFC 7518 §3.4: raw r‖s). `subject` is a `mailto:` or `https:`
 * contact; `expiresAt` (seconds) must lie within 24 hours of `now`.
 */
export async function signVapidJwt(p: { audience: string; subject: string; keys: VapidKeys; expiresAt: number; now?: number }): Promise<string> {
  const now = Math.floor((p.now ?? Date.now()) / 1000);
  if (p.expiresAt <= now || p.expiresAt - now > VAPID_MAX_LIFETIME_SECONDS) throw new RangeError('VAPID exp must be within 24 hours');
  if (!/^(mailto:|https:)/.test(p.subject)) throw new TypeError('the VAPID subject must be a mailto: or https: URI');
  const input = `${segment({ typ: 'JWT', alg: 'ES256' })}.${segment({ aud: p.audience, exp: p.expiresAt, sub: p.subject })}`;
  const signature = new Uint8Array(await crypto.subtle.sign(ECDSA_SHA256, p.keys.privateKey, utf8(input)));
  return `${input}.${bytesToBase64Url(signature)}`;
}

/** The `Authorization` header value of RFC 8292 §3: the `vapid` scheme with `t` (JWT) and `k` (public key). */
export const vapidAuthorization = (jwt: string, publicKey: string): string => `vapid t=${jwt}, k=${publicKey}`;
