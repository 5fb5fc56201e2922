import { base64ToBytes, bytesToBase64Url, fromUtf8, utf8 } from '../../../lib/encoding.ts';

/**
 * Purpose-bound keys derived from the one `SESSION_COOKIE_KEY` secret. Each use (session cookie, CSRF cookie, carried
 * authorize request, password-change challenge) gets its own HMAC key, so a value signed for one purpose can never be
 * replayed as another (key separation, NIST SP 800-108 style: HMAC(secret, label)).
 */
export type KeyPurpose = 'session-cookie' | 'csrf-cookie' | 'authorize-request' | 'new-password-challenge';

const cache = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();

async function derive(secret: string, purpose: KeyPurpose): Promise<Uint8Array<ArrayBuffer>> {
  if (secret.length < 16) throw new Error('SESSION_COOKIE_KEY must be at least 16 characters');
  const key = await crypto.subtle.importKey('raw', utf8(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, utf8(`gatehouse/${purpose}/v1`)));
}

/** The 32-byte key for one purpose, derived once per isolate. */
export function subkey(secret: string, purpose: KeyPurpose): Promise<Uint8Array<ArrayBuffer>> {
  const id = `${purpose}\u0000${secret}`;
  let key = cache.get(id);
  if (!key) {
    key = derive(secret, purpose);
    cache.set(id, key);
  }
  return key;
}

async function hmacKey(secret: string, purpose: KeyPurpose): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', await subkey(secret, purpose), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/** Seals a JSON value as `base64url(json).base64url(HMAC-SHA-256)`; readable by anyone, forgeable by no one. */
export async function seal(secret: string, purpose: KeyPurpose, value: unknown): Promise<string> {
  const body = bytesToBase64Url(utf8(JSON.stringify(value)));
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret, purpose), utf8(body));
  return `${body}.${bytesToBase64Url(new Uint8Array(mac))}`;
}

/** Opens a sealed value: the parsed JSON when the MAC verifies (in constant time, by WebCrypto), else undefined. */
export async function unseal(secret: string, purpose: KeyPurpose, sealed: string): Promise<unknown> {
  const [body, mac, extra] = sealed.split('.');
  if (!body || !mac || extra !== undefined || sealed.length > 16_384) return undefined;
  try {
    const ok = await crypto.subtle.verify('HMAC', await hmacKey(secret, purpose), base64ToBytes(mac), utf8(body));
    return ok ? (JSON.parse(fromUtf8(base64ToBytes(body))) as unknown) : undefined;
  } catch {
    return undefined;
  }
}
