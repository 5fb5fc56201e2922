/**
 * Checks the public keys an organisation registers (`PUT /api/orgs/:orgId/keys`): an encryption key devices encrypt
 * event payloads to (P-256, ECDH-ES+A256KW) and a signing key records are signed with (Ed25519 or P-256). Anything
 * private, unsupported or unnamed is refused with a message that says what to fix. Runtime-neutral (jose).
 */
import { importJWK } from 'jose';

/** What a key is for. */
export type KeyUse = 'enc' | 'sig';

/** A public key as stored and served: only the public members, with `kid`, `use` and `alg`. */
export type PublicJwk = { kty: 'EC' | 'OKP'; crv: 'P-256' | 'Ed25519'; x: string; y?: string; kid: string; use: KeyUse; alg: string };

/** One problem with a submitted key, with the member it concerns. */
export type JwkIssue = { path: string; message: string };

// RFC 7518 §6.2.2 and §6.3.2, RFC 8037 §2: members only a private (or symmetric) key has.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const COORDINATE = /^[A-Za-z0-9_-]{43}$/;

/** The JWS algorithms a signing key of each type verifies (RFC 7518 §3.4, RFC 8037 §3.1 and its fully specified `Ed25519`). */
export const SIGNING_ALGS: Record<'P-256' | 'Ed25519', string[]> = { 'P-256': ['ES256'], Ed25519: ['EdDSA', 'Ed25519'] };
/** The JWE key management algorithm an encryption key is for. */
export const ENCRYPTION_ALG = 'ECDH-ES+A256KW';

/** Checks a submitted public JWK for `use`; returns the normalised public key, or the issues found (never both). */
export function checkPublicJwk(input: unknown, use: KeyUse): { ok: true; jwk: PublicJwk } | { ok: false; issues: JwkIssue[] } {
  const bad = (path: string, message: string) => ({ ok: false as const, issues: [{ path, message }] });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return bad('', 'must be a JWK object');
  const jwk = input as Record<string, unknown>;
  const secret = PRIVATE_MEMBERS.find((m) => m in jwk);
  if (secret) return bad(secret, `is a private key member: register only the PUBLIC key (remove "${secret}"); Gatehouse never holds private keys`);
  if (typeof jwk.kid !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(jwk.kid)) return bad('kid', 'is required: 1–128 of A-Z a-z 0-9 . _ : -');
  if (jwk.use !== undefined && jwk.use !== use) return bad('use', `must be "${use}" for this key`);
  const { kty, crv } = jwk;
  const supported = use === 'enc' ? 'EC P-256' : 'OKP Ed25519 or EC P-256';
  const isEc = kty === 'EC' && crv === 'P-256';
  const isEd = kty === 'OKP' && crv === 'Ed25519' && use === 'sig';
  if (!isEc && !isEd) return bad(kty === 'EC' || kty === 'OKP' ? 'crv' : 'kty', `unsupported key ${String(kty)} ${String(crv ?? '')}`.trim() + `: use ${supported}`);
  if (typeof jwk.x !== 'string' || !COORDINATE.test(jwk.x)) return bad('x', 'must be a 32-byte base64url value');
  if (isEc && (typeof jwk.y !== 'string' || !COORDINATE.test(jwk.y))) return bad('y', 'must be a 32-byte base64url value');
  const algs = use === 'enc' ? [ENCRYPTION_ALG] : SIGNING_ALGS[isEc ? 'P-256' : 'Ed25519'];
  if (jwk.alg !== undefined && !algs.includes(String(jwk.alg))) return bad('alg', `must be ${algs.join(' or ')} for this key`);
  const alg = typeof jwk.alg === 'string' ? jwk.alg : (algs[0] ?? '');
  const base = { kid: jwk.kid, use, alg, x: jwk.x };
  return { ok: true, jwk: isEc ? { kty: 'EC', crv: 'P-256', ...base, y: String(jwk.y) } : { kty: 'OKP', crv: 'Ed25519', ...base } };
}

/** True when a key's material is equal (same type, curve and point), whatever the other members say. */
export const sameKeyMaterial = (a: PublicJwk, b: PublicJwk): boolean => a.kty === b.kty && a.crv === b.crv && a.x === b.x && a.y === b.y;

/**
 * Imports the key with WebCrypto, which checks that an EC point lies on the curve (an invalid-curve point would
 * leak the private key through ECDH); resolves to an issue when it does not import.
 */
export async function importIssue(jwk: PublicJwk): Promise<JwkIssue | undefined> {
  try {
    await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...(jwk.y ? { y: jwk.y } : {}) }, jwk.use === 'enc' ? ENCRYPTION_ALG : jwk.alg);
    return undefined;
  } catch {
    return { path: 'x', message: 'is not a valid public key (the point is not on the curve)' };
  }
}
