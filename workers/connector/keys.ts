/**
 * The organisation's private keys, from the connector's secrets, imported once per isolate:
 * ORG_ENCRYPTION_KEYS (decryption by kid; the first is the current one, which encrypted appends use) and
 * ORG_SIGNING_KEY (signs records on the organisation's behalf).
 */
import { importJWK, type JWK } from 'jose';
import { importDecryptionKeys, type DecryptionKeys } from '../../lib/records/open.ts';
import { EVENT_JWE_ALG } from '../../lib/records/jwe-header.ts';

/** The imported keys. */
export type OrgKeys = {
  decryption: DecryptionKeys;
  /** The current encryption key's public half (the first of ORG_ENCRYPTION_KEYS). */
  sealing: { kid: string; key: CryptoKey | Uint8Array };
  signing: { kid: string; alg: 'EdDSA' | 'ES256'; key: CryptoKey | Uint8Array; publicJwk: JWK };
};

let cached: { source: string; keys: Promise<OrgKeys> } | undefined;

async function importAll(encText: string, sigText: string): Promise<OrgKeys> {
  const decryption = await importDecryptionKeys(encText);
  const list = JSON.parse(encText) as JWK[] | { keys: JWK[] };
  const first = (Array.isArray(list) ? list : list.keys)[0] as JWK & { kid: string };
  const sealing = { kid: first.kid, key: await importJWK({ kty: first.kty, crv: first.crv, x: first.x, y: first.y }, EVENT_JWE_ALG) };
  let sig: JWK;
  try {
    sig = JSON.parse(sigText) as JWK;
  } catch {
    throw new Error('ORG_SIGNING_KEY is not JSON: give the private signing JWK (Ed25519 or P-256) with its kid');
  }
  if (typeof sig.kid !== 'string' || typeof sig.d !== 'string') throw new Error('ORG_SIGNING_KEY must be a private JWK with a kid');
  const alg = sig.kty === 'OKP' && sig.crv === 'Ed25519' ? 'EdDSA' : sig.kty === 'EC' && sig.crv === 'P-256' ? 'ES256' : undefined;
  if (!alg) throw new Error('ORG_SIGNING_KEY must be Ed25519 (OKP) or P-256 (EC)');
  const publicJwk: JWK = { kty: sig.kty, crv: sig.crv, x: sig.x, ...(sig.y ? { y: sig.y } : {}), kid: sig.kid };
  return { decryption, sealing, signing: { kid: sig.kid, alg, key: await importJWK({ ...publicJwk, d: sig.d }, alg), publicJwk } };
}

/** The organisation's keys from the secrets (re-imported only when the secrets change). */
export function orgKeys(env: Pick<Env, 'ORG_ENCRYPTION_KEYS' | 'ORG_SIGNING_KEY'>): Promise<OrgKeys> {
  const source = `${env.ORG_ENCRYPTION_KEYS}\n${env.ORG_SIGNING_KEY}`;
  if (cached?.source !== source) {
    const keys = importAll(env.ORG_ENCRYPTION_KEYS ?? '', env.ORG_SIGNING_KEY ?? '');
    keys.catch(() => undefined);
    cached = { source, keys };
  }
  return cached.keys;
}
