import { sha256Hex } from '../../lib/encoding.ts';

/**
 * Claim codes: what an unclaimed device prints so that a person can claim it. Ten Crockford base32 symbols (50 bits),
 * shown as `XXXXX-XXXXX`. Crockford's alphabet has no I, L, O or U, and reading is forgiving (case, dashes and spaces
 * are ignored; I and L read as 1, O as 0), so a code copied from a small display survives. Only the SHA-256 of the
 * normalised code is stored. docs/tunnel-protocol.md §17 has the brute-force arithmetic.
 */

/** Crockford's base32 alphabet (https://www.crockford.com/base32.html). */
export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Symbols in a claim code: 10 × 5 = 50 bits. */
export const CLAIM_CODE_LENGTH = 10;

/** Makes a fresh random claim code, formatted for display (`K7QF9-3MZX2`). */
export function generateClaimCode(): string {
  // 7 random bytes = 56 bits; each symbol takes the next 5, so every symbol is uniform (no modulo bias).
  const bytes = crypto.getRandomValues(new Uint8Array(7));
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let code = '';
  for (let i = 0; i < CLAIM_CODE_LENGTH; i++) code += CROCKFORD_ALPHABET[Number((bits >> BigInt(5 * i)) & 31n)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** The canonical form of a typed code (upper case, no separators, I/L → 1, O → 0), or null when it cannot be a code. */
export function normalizeClaimCode(input: string): string | null {
  const code = input
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0');
  if (code.length !== CLAIM_CODE_LENGTH) return null;
  for (const c of code) if (!CROCKFORD_ALPHABET.includes(c)) return null;
  return code;
}

/** The stored form of a claim code: SHA-256 (hex) of its canonical form; null for input that is not a code. */
export async function claimCodeHash(input: string): Promise<string | null> {
  const code = normalizeClaimCode(input);
  return code === null ? null : sha256Hex(`claim:${code}`);
}
