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

/** The platform's explanation of a refusal: the problem's detail and field errors, or the start of the body. */
async function refusal(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const p = JSON.parse(text) as { detail?: string; error_description?: string; errors?: { path: string; message: string }[] };
    return [p.detail ?? p.error_description, ...(p.errors ?? []).map((e) => `${e.path}: ${e.message}`)].filter(Boolean).join('; ');
  } catch {
    return text.slice(0, 300);
  }
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
  if (!res.ok) throw new Error(`the platform refused the keys (HTTP ${res.status}): ${await refusal(res)}`);
}

/**
 * Creates the connector's app client, bound to the organisation (`POST /api/orgs/:orgId/clients`, an org admin's token):
 * client_credentials only, with `role`. Returns its id and its secret, which the platform shows only this once.
 */
export async function createBoundClient(url: string, orgId: string, token: string, client: { name: string; role: 'admin' | 'member' }): Promise<{ clientId: string; clientSecret: string }> {
  const res = await fetch(`${url.replace(/\/+$/, '')}/api/orgs/${encodeURIComponent(orgId)}/clients`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(client),
  });
  if (!res.ok) throw new Error(`the platform refused to create the connector's app client (HTTP ${res.status}): ${await refusal(res)}`);
  const body = (await res.json()) as { clientId?: unknown; clientSecret?: unknown };
  if (typeof body.clientId !== 'string' || typeof body.clientSecret !== 'string') throw new Error('the platform answered the app client creation without a client id and secret');
  return { clientId: body.clientId, clientSecret: body.clientSecret };
}
