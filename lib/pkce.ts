import { bytesToBase64Url, timingSafeEqual, utf8 } from './encoding.ts';

/** RFC 7636 §4.1: 43–128 characters from the unreserved set. */
export const isValidCodeVerifier = (verifier: string): boolean => /^[A-Za-z0-9._~-]{43,128}$/.test(verifier);

/** RFC 7636 §4.2: the S256 challenge of a verifier, BASE64URL(SHA256(ASCII(verifier))). */
export async function s256Challenge(verifier: string): Promise<string> {
  return bytesToBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(verifier))));
}

/** RFC 7636 §4.6: checks a verifier against the stored challenge and method. */
export async function verifyPkce(verifier: string, challenge: string, method: 'S256' | 'plain'): Promise<boolean> {
  if (!isValidCodeVerifier(verifier)) return false;
  return timingSafeEqual(method === 'S256' ? await s256Challenge(verifier) : verifier, challenge);
}
