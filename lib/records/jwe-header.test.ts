import { CompactEncrypt, compactDecrypt, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { bytesToBase64Url, utf8 } from '../encoding.ts';
import { checkEventJwe } from './jwe-header.ts';

const { publicKey, privateKey } = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
const event = { id: 'e1', type: 'door.opened', time: '2026-11-25T08:00:00Z' };
const kids = new Set(['k1', 'k0']);
const seal = (header: Record<string, unknown> = {}, data = '{"secret":1}') =>
  new CompactEncrypt(utf8(data)).setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'k1', ...header }).encrypt(publicKey);
const withHeader = (jwe: string, header: unknown) => [bytesToBase64Url(utf8(JSON.stringify(header))), ...jwe.split('.').slice(1)].join('.');

describe('checkEventJwe', () => {
  it('accepts what jose produces for a known kid, with and without a matching evt, without decrypting', async () => {
    const jwe = await seal({ evt: event });
    const check = checkEventJwe(jwe, { kids, event });
    expect(check).toMatchObject({ ok: true, header: { alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'k1', evt: event, epk: { kty: 'EC', crv: 'P-256' } } });
    expect(checkEventJwe(await seal(), { kids, event }).ok).toBe(true);
    expect(new TextDecoder().decode((await compactDecrypt(jwe, privateKey)).plaintext)).toBe('{"secret":1}');
  });

  it('refuses other algorithms, unknown kids, compression, crit, private epk members and a mismatched evt', async () => {
    const jwe = await seal();
    const header = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(jwe.split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)))) as Record<string, unknown>;
    const cases: [unknown, RegExp][] = [
      [withHeader(jwe, { ...header, alg: 'RSA-OAEP-256' }), /alg/],
      [withHeader(jwe, { ...header, enc: 'A128CBC-HS256' }), /enc/],
      [withHeader(jwe, { ...header, kid: 'nope' }), /kid "nope" is not an encryption key/],
      [withHeader(jwe, { ...header, kid: undefined }), /kid/],
      [withHeader(jwe, { ...header, zip: 'DEF' }), /zip/],
      [withHeader(jwe, { ...header, crit: ['exp'] }), /crit/],
      [withHeader(jwe, { ...header, epk: { ...(header.epk as object), d: 'x'.repeat(43) } }), /epk/],
      [withHeader(jwe, { ...header, epk: { ...(header.epk as object), crv: 'P-384' } }), /epk\.crv/],
      [withHeader(jwe, { ...header, evt: { ...event, id: 'other' } }), /evt does not match/],
      [withHeader(jwe, { ...header, padding: 'x'.repeat(3000) }), /header is larger/],
      [`${bytesToBase64Url(utf8('not json'))}.${jwe.split('.').slice(1).join('.')}`, /not base64url JSON/],
      [jwe.split('.').slice(0, 4).join('.'), /five base64url segments/],
      [jwe.replace(/\.[^.]+$/, '.AAAA'), /tag must be 16 bytes/],
      [jwe.replace(/^([^.]+)\.[^.]+/, '$1.AAAA'), /encrypted key must be 40 bytes/],
      [{ plain: true }, /must be a compact JWE string/],
      ['x'.repeat(70_000), /larger than 65536 bytes/],
    ];
    for (const [payload, error] of cases) {
      const check = checkEventJwe(payload, { kids, event: { ...event } });
      expect(check.ok, String(error)).toBe(false);
      if (!check.ok) expect(check.error).toMatch(error);
    }
  });
});
