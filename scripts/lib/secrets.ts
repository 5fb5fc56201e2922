import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { bytesToBase64, bytesToBase64Url, randomToken } from '../../lib/encoding.ts';
import { generateCa } from '../../lib/pki/dev-ca.ts';
import { generateVapidPrivateJwk } from '../../lib/webpush/keys.ts';

/** The secrets the Worker reads, by name. Every one is generated for development by `npm run setup`. */
export const SECRET_NAMES = [
  'JWT_SIGNING_KEYS',
  'CLAIMS_FERNET_KEYS',
  'CA_CERT',
  'CA_KEY',
  'CA_CHAIN',
  'PROV_ADMIN_API_KEY',
  'AUTHZ_TOKEN_KEY',
  'SESSION_COOKIE_KEY',
  'VAPID_PRIVATE_KEY',
] as const;

export type SecretName = (typeof SECRET_NAMES)[number];

/** A private RS256 signing JWK with its RFC 7638 thumbprint as `kid`. */
export async function generateSigningJwk(): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}

/** A Fernet key: 32 random bytes, URL-safe base64 with padding, as Python `cryptography` writes them. */
export const generateFernetKey = (): string =>
  bytesToBase64(crypto.getRandomValues(new Uint8Array(32))).replace(/\+/g, '-').replace(/\//g, '_');

/** Generates a complete set of development secrets. The root CA key is returned apart: the Worker never needs it. */
export async function generateDevSecrets(): Promise<Record<SecretName, string> & { ROOT_CA_KEY: string }> {
  const ca = await generateCa({ name: 'Gatehouse Dev' });
  return {
    JWT_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningJwk()] }),
    CLAIMS_FERNET_KEYS: generateFernetKey(),
    CA_CERT: ca.issuingCertPem,
    CA_KEY: ca.issuingKeyPem,
    CA_CHAIN: ca.rootCertPem,
    PROV_ADMIN_API_KEY: randomToken(32),
    AUTHZ_TOKEN_KEY: bytesToBase64Url(crypto.getRandomValues(new Uint8Array(32))),
    SESSION_COOKIE_KEY: randomToken(32),
    // The Web Push application server key (RFC 8292 §3.2): a private P-256 JWK; its public half is the applicationServerKey.
    VAPID_PRIVATE_KEY: JSON.stringify(await generateVapidPrivateJwk()),
    ROOT_CA_KEY: ca.rootKeyPem,
  };
}
