import { base64ToBytes, bytesToBase64 } from '../encoding.ts';

/** One PEM block: its label (`CERTIFICATE`, `PRIVATE KEY`, …) and decoded DER. */
export type PemBlock = { label: string; der: Uint8Array<ArrayBuffer> };

/**
 * Turns the two-character sequence `\n` (how `.dev.vars` and many secret stores keep multi-line values) back into
 * newlines, and CRLF into LF, so PEM pasted either way parses the same.
 */
export const normalisePem = (text: string): string =>
  text.replace(/\\r/g, '').replace(/\\n/g, '\n').replace(/\r\n?/g, '\n');

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/**
 * Decodes every PEM block in `text` (RFC 7468 §2, lax parser §3: any whitespace inside the base64).
 * Text outside blocks (openssl's `subject=` lines, comments) is ignored. Throws `TypeError` on bad base64.
 */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of normalisePem(text).matchAll(BLOCK)) {
    const [, label = '', body = ''] = match;
    // RFC 1421 encapsulated headers (e.g. `Proc-Type:` on encrypted keys) are not base64: refuse them explicitly.
    if (body.includes(':')) throw new TypeError(`PEM block ${label} has headers (encrypted?)`);
    blocks.push({ label, der: base64ToBytes(body) });
  }
  return blocks;
}

/** Encodes DER as PEM with 64-character lines (RFC 7468 §2, strict generator). */
export function encodePem(der: Uint8Array, label: string): string {
  const lines = bytesToBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
