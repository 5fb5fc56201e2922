import { importJWK, type JWK } from 'jose';
import { z } from 'zod';

/** A private signing key ready for jose, with its public half for the JWKS. */
export type SigningKey = { kid: string; alg: 'RS256'; privateKey: CryptoKey; publicJwk: JWK };

/** The signing key ring: the first key signs, every key is published (rotation without breaking verifiers). */
export type KeyRing = { signer: SigningKey; keys: SigningKey[]; jwks: { keys: JWK[] } };

const privateRsaJwk = z.looseObject({
  kty: z.literal('RSA'),
  kid: z.string().min(1),
  n: z.string().min(300),
  e: z.string(),
  d: z.string(),
  p: z.string(),
  q: z.string(),
  dp: z.string(),
  dq: z.string(),
  qi: z.string(),
  alg: z.literal('RS256').optional(),
});

const PUBLIC_MEMBERS = ['kty', 'kid', 'n', 'e'] as const;

async function load(secret: string): Promise<KeyRing> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secret);
  } catch {
    throw new Error('JWT_SIGNING_KEYS is not JSON');
  }
  const set = z.object({ keys: z.array(privateRsaJwk).min(1) }).safeParse(parsed);
  if (!set.success) throw new Error('JWT_SIGNING_KEYS must be {"keys":[private RSA JWKs with kid]}');
  const keys = await Promise.all(
    set.data.keys.map(async (jwk): Promise<SigningKey> => {
      const privateKey = (await importJWK({ ...jwk, alg: 'RS256' }, 'RS256')) as CryptoKey;
      const publicJwk: JWK = Object.fromEntries(PUBLIC_MEMBERS.map((m) => [m, jwk[m]]));
      return { kid: jwk.kid, alg: 'RS256', privateKey, publicJwk: { ...publicJwk, alg: 'RS256', use: 'sig' } };
    }),
  );
  const signer = keys[0];
  if (!signer) throw new Error('JWT_SIGNING_KEYS has no key');
  return { signer, keys, jwks: { keys: keys.map((k) => k.publicJwk) } };
}

const rings = new Map<string, Promise<KeyRing>>();

/** The key ring for a `JWT_SIGNING_KEYS` secret, imported once per isolate. */
export function keyRing(secret: string): Promise<KeyRing> {
  let ring = rings.get(secret);
  if (!ring) {
    ring = load(secret);
    ring.catch(() => rings.delete(secret));
    rings.set(secret, ring);
  }
  return ring;
}
