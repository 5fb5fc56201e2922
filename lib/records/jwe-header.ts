/**
 * Checks an event payload's compact JWE (RFC 7516 §7.1) without decrypting it: Gatehouse holds no private key, so it
 * checks what it can see (the five segments, their sizes, and the protected header) and leaves the rest to the
 * organisation's connector. Pure, so the agent and the connector can run the same checks.
 */
import { z } from 'zod';
import { base64ToBytes, fromUtf8 } from '../encoding.ts';
import { MAX_JWE_HEADER_BYTES, MAX_PAYLOAD_BYTES } from './limits.ts';

/** The one key management algorithm accepted (RFC 7518 §4.6): ECDH-ES with the key wrapped by AES-256 KW. */
export const EVENT_JWE_ALG = 'ECDH-ES+A256KW';
/** The one content encryption accepted (RFC 7518 §5.3). */
export const EVENT_JWE_ENC = 'A256GCM';

const b64url = /^[A-Za-z0-9_-]*$/;
const coordinate = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a 32-byte base64url coordinate');

/** The protected header devices must send; `evt`, when present, binds the event's clear metadata into the AEAD. */
export const eventJweHeader = z.looseObject({
  alg: z.literal(EVENT_JWE_ALG),
  enc: z.literal(EVENT_JWE_ENC),
  kid: z.string().min(1).max(128),
  // RFC 7518 §4.6.1.1: the ephemeral public key; a `d` member would be a private key, so the object is strict.
  epk: z.strictObject({ kty: z.literal('EC'), crv: z.literal('P-256'), x: coordinate, y: coordinate }),
  apu: z.string().regex(b64url).max(256).optional(),
  apv: z.string().regex(b64url).max(256).optional(),
  cty: z.string().max(64).optional(),
  typ: z.string().max(64).optional(),
  // No compression (a compression oracle on attacker-influenced data) and no extensions this checker does not know.
  zip: z.never().optional(),
  crit: z.never().optional(),
  evt: z.strictObject({ id: z.string(), type: z.string(), time: z.string() }).optional(),
});

/** A checked event JWE header. */
export type EventJweHeader = z.output<typeof eventJweHeader>;

/** The outcome of a check: the header, or why the payload is refused (safe to send back to the device). */
export type JweCheck = { ok: true; header: EventJweHeader } | { ok: false; error: string };

const fail = (error: string): JweCheck => ({ ok: false, error });

/** Decodes and checks a compact JWE's protected header against the organisation's known `kid`s and the event's metadata. */
export function checkEventJwe(payload: unknown, expected: { kids: ReadonlySet<string>; event?: { id: string; type: string; time: string } }): JweCheck {
  if (typeof payload !== 'string') return fail('payload must be a compact JWE string (this device belongs to an organisation)');
  if (payload.length > MAX_PAYLOAD_BYTES) return fail(`payload is larger than ${MAX_PAYLOAD_BYTES} bytes`);
  const parts = payload.split('.');
  if (parts.length !== 5 || !parts.every((p) => b64url.test(p))) return fail('payload is not a compact JWE (five base64url segments)');
  const [protectedB64 = '', encryptedKey = '', iv = '', ciphertext = '', tag = ''] = parts;
  if (protectedB64.length > Math.ceil((MAX_JWE_HEADER_BYTES * 4) / 3)) return fail(`JWE protected header is larger than ${MAX_JWE_HEADER_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(fromUtf8(base64ToBytes(protectedB64)));
  } catch {
    return fail('JWE protected header is not base64url JSON');
  }
  const parsed = eventJweHeader.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(`JWE protected header: ${issue ? `${issue.path.join('.') || 'header'} ${issue.message}` : 'invalid'}`);
  }
  const header = parsed.data;
  // A256KW wraps the 32-byte CEK into 40 bytes (RFC 3394); A256GCM uses a 96-bit IV and a 128-bit tag (RFC 7518 §5.3).
  if (encryptedKey.length !== 54) return fail('JWE encrypted key must be 40 bytes (A256KW)');
  if (iv.length !== 16) return fail('JWE IV must be 12 bytes (A256GCM)');
  if (tag.length !== 22) return fail('JWE tag must be 16 bytes (A256GCM)');
  if (ciphertext.length === 0) return fail('JWE ciphertext is empty');
  if (!expected.kids.has(header.kid)) return fail(`JWE kid "${header.kid}" is not an encryption key of this organisation`);
  const evt = header.evt;
  if (evt && expected.event && (evt.id !== expected.event.id || evt.type !== expected.event.type || evt.time !== expected.event.time)) {
    return fail('JWE header evt does not match the event id, type and time');
  }
  return { ok: true, header };
}
