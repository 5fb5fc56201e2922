/**
 * Opaque, tamper-evident cursors over the log: `<seq in base 36>.<HMAC-SHA-256 tag>`, the tag binding the sequence
 * number to the log it belongs to (an organisation, or one device's events). A cursor from another log, or an altered
 * one, fails to verify. The key is derived with HKDF from a server secret; rotating that secret invalidates cursors,
 * and clients then start again without `after` and skip ids they already hold.
 */
import { base64ToBytes, bytesToBase64Url, utf8 } from '../encoding.ts';

/** Which log a cursor walks: an organisation's, or the events of a device that belongs to none. */
export type CursorScope = `org:${string}` | `device:${string}`;

const TAG_BYTES = 16;
const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key for cursors, derived once per secret (HKDF-SHA-256, RFC 5869, with a purpose-specific `info`). */
export function cursorKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = (async () => {
      const ikm = await crypto.subtle.importKey('raw', utf8(secret), 'HKDF', false, ['deriveKey']);
      return crypto.subtle.deriveKey(
        { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: utf8('gatehouse records cursor v1') },
        ikm,
        { name: 'HMAC', hash: 'SHA-256', length: 256 },
        false,
        ['sign', 'verify'],
      );
    })();
    keys.set(secret, key);
  }
  return key;
}

const message = (scope: CursorScope, seq: number) => utf8(`${scope}|${seq}`);

/** The cursor that means "after `seq`" in `scope`. */
export async function encodeCursor(key: CryptoKey, scope: CursorScope, seq: number): Promise<string> {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError('seq must be a non-negative integer');
  const tag = new Uint8Array(await crypto.subtle.sign('HMAC', key, message(scope, seq))).subarray(0, TAG_BYTES);
  return `${seq.toString(36)}.${bytesToBase64Url(tag)}`;
}

/** The sequence number a cursor stands for, or undefined when it is malformed, altered or from another log. */
export async function decodeCursor(key: CryptoKey, scope: CursorScope, cursor: string): Promise<number | undefined> {
  const match = /^([0-9a-z]{1,11})\.([A-Za-z0-9_-]{22})$/.exec(cursor);
  if (!match?.[1] || !match[2]) return undefined;
  const seq = Number.parseInt(match[1], 36);
  if (!Number.isSafeInteger(seq) || seq.toString(36) !== match[1]) return undefined;
  const full = new Uint8Array(await crypto.subtle.sign('HMAC', key, message(scope, seq)));
  const given = base64ToBytes(match[2]);
  // Constant-time comparison of the truncated tag (RFC 2104 §5 truncation).
  let diff = given.length ^ TAG_BYTES;
  for (let i = 0; i < TAG_BYTES; i++) diff |= (full[i] ?? 0) ^ (given[i] ?? 0);
  return diff === 0 ? seq : undefined;
}
