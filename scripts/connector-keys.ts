/**
 * Key generation and registration for `npm run connector:setup` (and the connector tests): the organisation's P-256
 * encryption key pair and Ed25519 signing key pair, generated locally; only the PUBLIC halves go to the platform
 * (`PUT /api/orgs/:orgId/keys`); the private halves go to the connector's secrets.
 */
import { exportJWK, generateKeyPair, type JWK } from 'jose';

/** A private JWK with its kid. */
export type PrivateJwk = JWK & { kid: string; d: string };

/** A fresh encryption key (P-256, for ECDH-ES+A256KW). */
export async function newEncryptionKey(kid = `enc-${crypto.randomUUID().slice(0, 8)}`): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair('ECDH-ES+A256KW', { extractable: true, crv: 'P-256' });
  return { ...(await exportJWK(privateKey)), kid } as PrivateJwk;
}

/** A fresh signing key (Ed25519). */
export async function newSigningKey(kid = `sig-${crypto.randomUUID().slice(0, 8)}`): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true, crv: 'Ed25519' });
  return { ...(await exportJWK(privateKey)), kid } as PrivateJwk;
}

/** The public half of a private JWK, marked for its use. */
export function publicHalf(jwk: PrivateJwk, use: 'enc' | 'sig'): JWK {
  const { d: _d, ...pub } = jwk;
  return { ...pub, use };
}

/** Registers public keys with the platform; throws with the platform's explanation when it refuses. */
export async function registerKeys(url: string, orgId: string, token: string, keys: { encryptionKey?: PrivateJwk; signingKey?: PrivateJwk }): Promise<void> {
  const body: Record<string, JWK> = {};
  if (keys.encryptionKey) body.encryptionKey = publicHalf(keys.encryptionKey, 'enc');
  if (keys.signingKey) body.signingKey = publicHalf(keys.signingKey, 'sig');
  const res = await fetch(`${url.replace(/\/+$/, '')}/api/orgs/${encodeURIComponent(orgId)}/keys`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    const text = await res.text();
    let detail = text.slice(0, 300);
    try {
      const p = JSON.parse(text) as { detail?: string; errors?: { path: string; message: string }[] };
      detail = [p.detail, ...(p.errors ?? []).map((e) => `${e.path}: ${e.message}`)].filter(Boolean).join('; ');
    } catch {
      /* not JSON */
    }
    throw new Error(`the platform refused the keys (HTTP ${res.status}): ${detail}`);
  }
}
