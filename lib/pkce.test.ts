import { describe, expect, it } from 'vitest';
import { isValidCodeVerifier, s256Challenge, verifyPkce } from './pkce.ts';

// RFC 7636 Appendix B.
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('PKCE', () => {
  it('computes the RFC 7636 Appendix B S256 challenge', async () => {
    expect(await s256Challenge(VERIFIER)).toBe(CHALLENGE);
    expect(await verifyPkce(VERIFIER, CHALLENGE, 'S256')).toBe(true);
  });

  it('rejects a wrong verifier, a plain verifier against S256, and malformed verifiers', async () => {
    expect(await verifyPkce(VERIFIER.replace('d', 'e'), CHALLENGE, 'S256')).toBe(false);
    expect(await verifyPkce(CHALLENGE, CHALLENGE, 'S256')).toBe(false);
    expect(isValidCodeVerifier('short')).toBe(false);
    expect(isValidCodeVerifier('a'.repeat(129))).toBe(false);
    expect(isValidCodeVerifier(`${'a'.repeat(43)}!`)).toBe(false);
  });

  it('supports plain only as an exact match', async () => {
    expect(await verifyPkce(VERIFIER, VERIFIER, 'plain')).toBe(true);
    expect(await verifyPkce(VERIFIER, `${VERIFIER}x`, 'plain')).toBe(false);
  });
});
