import { bytesToBase64Url, randomToken, utf8 } from '../../../lib/encoding.ts';
import { s256Challenge } from '../../../lib/pkce.ts';

/**
 * The per-flow secrets of an upstream sign-in. The `state` is random; the OIDC `nonce` and the PKCE `code_verifier`
 * are HMACs of it under a key derived from SESSION_COOKIE_KEY, so D1 stores neither (STYLE.md rule 8) and whoever
 * sees the state in a URL or a log still cannot compute the verifier (RFC 7636 §7.1) or forge the nonce.
 */
export type FlowSecrets = { state: string; nonce: string; codeVerifier: string; codeChallenge: string };

const keys = new Map<string, Promise<CryptoKey>>();

/** HMAC(secret, label): a key used for nothing else (the same separation as hosted/subkeys.ts). */
function flowKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = (async () => {
      if (secret.length < 16) throw new Error('SESSION_COOKIE_KEY must be at least 16 characters');
      const root = await crypto.subtle.importKey('raw', utf8(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      const derived = await crypto.subtle.sign('HMAC', root, utf8('gatehouse/federation-flow/v1'));
      return crypto.subtle.importKey('raw', derived, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    })();
    keys.set(secret, key);
  }
  return key;
}

async function derive(secret: string, label: string, state: string): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await flowKey(secret), utf8(`${label}\u0000${state}`));
  return bytesToBase64Url(new Uint8Array(mac));
}

/** Re-derives the nonce and verifier of a state (32 bytes each, base64url: 43 characters, RFC 7636 §4.1). */
export async function secretsOf(secret: string, state: string): Promise<FlowSecrets> {
  const [nonce, codeVerifier] = await Promise.all([derive(secret, 'nonce', state), derive(secret, 'pkce', state)]);
  return { state, nonce, codeVerifier, codeChallenge: await s256Challenge(codeVerifier) };
}

/** Fresh secrets for a new upstream sign-in: a 256-bit random state and what derives from it. */
export const newFlowSecrets = (secret: string): Promise<FlowSecrets> => secretsOf(secret, randomToken(32));
