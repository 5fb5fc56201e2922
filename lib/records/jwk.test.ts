import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { checkPublicJwk, importIssue, sameKeyMaterial } from './jwk.ts';

const ec = await exportJWK((await generateKeyPair('ECDH-ES+A256KW', { extractable: true })).publicKey);
const ed = await exportJWK((await generateKeyPair('EdDSA', { extractable: true, crv: 'Ed25519' })).publicKey);

describe('checkPublicJwk', () => {
  it('normalises supported public keys to their public members with use and alg', async () => {
    const enc = checkPublicJwk({ ...ec, kid: 'e1', ext: true, key_ops: ['deriveBits'] }, 'enc');
    expect(enc).toEqual({ ok: true, jwk: { kty: 'EC', crv: 'P-256', x: ec.x, y: ec.y, kid: 'e1', use: 'enc', alg: 'ECDH-ES+A256KW' } });
    expect(checkPublicJwk({ ...ed, kid: 's1' }, 'sig')).toEqual({ ok: true, jwk: { kty: 'OKP', crv: 'Ed25519', x: ed.x, kid: 's1', use: 'sig', alg: 'EdDSA' } });
    expect(checkPublicJwk({ ...ec, kid: 's2', alg: 'ES256' }, 'sig')).toMatchObject({ ok: true, jwk: { alg: 'ES256', use: 'sig' } });
    if (enc.ok) expect(await importIssue(enc.jwk)).toBeUndefined();
  });

  it('says what is wrong, one member at a time', () => {
    const issue = (jwk: unknown, use: 'enc' | 'sig') => {
      const r = checkPublicJwk(jwk, use);
      return r.ok ? undefined : r.issues[0];
    };
    expect(issue({ ...ec, kid: 'k', d: 'x' }, 'enc')).toEqual({ path: 'd', message: expect.stringContaining('register only the PUBLIC key') });
    expect(issue({ ...ec }, 'enc')).toMatchObject({ path: 'kid' });
    expect(issue({ ...ec, kid: 'has space' }, 'enc')).toMatchObject({ path: 'kid' });
    expect(issue({ ...ed, kid: 'k' }, 'enc')).toEqual({ path: 'crv', message: 'unsupported key OKP Ed25519: use EC P-256' });
    expect(issue({ kty: 'EC', crv: 'secp256k1', x: ec.x, y: ec.y, kid: 'k' }, 'sig')).toMatchObject({ path: 'crv' });
    expect(issue({ ...ec, kid: 'k', use: 'sig' }, 'enc')).toMatchObject({ path: 'use' });
    expect(issue({ ...ec, kid: 'k', x: 'short' }, 'enc')).toMatchObject({ path: 'x' });
    expect(issue({ ...ec, kid: 'k', alg: 'ECDH-ES' }, 'enc')).toMatchObject({ path: 'alg' });
    expect(issue([ec], 'enc')).toMatchObject({ path: '' });
  });

  it('finds points off the curve, and compares key material', async () => {
    const bad = checkPublicJwk({ ...ec, y: ec.x, kid: 'k' }, 'enc');
    expect(bad.ok).toBe(true);
    if (bad.ok) expect(await importIssue(bad.jwk)).toMatchObject({ path: 'x' });
    const a = checkPublicJwk({ ...ec, kid: 'a' }, 'enc');
    const b = checkPublicJwk({ ...ec, kid: 'b', alg: 'ECDH-ES+A256KW' }, 'enc');
    if (a.ok && b.ok) expect(sameKeyMaterial(a.jwk, b.jwk)).toBe(true);
  });
});
