import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64, bytesToBase64Url, sha256Hex, timingSafeEqual, utf8 } from './encoding.ts';

describe('encoding', () => {
  it('round-trips base64 and base64url for every byte value', () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    expect(base64ToBytes(bytesToBase64(bytes))).toEqual(bytes);
    expect(base64ToBytes(bytesToBase64Url(bytes))).toEqual(bytes);
    expect(bytesToBase64Url(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe('-_-_');
    expect(bytesToBase64(utf8('ab'))).toBe('YWI=');
  });

  it('rejects text that is not base64', () => {
    expect(() => base64ToBytes('a$b')).toThrow(TypeError);
    expect(() => base64ToBytes('abcde')).toThrow(TypeError);
  });

  it('hashes with SHA-256 (FIPS 180-2 "abc" vector)', async () => {
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('compares secrets', () => {
    expect(timingSafeEqual('secret', 'secret')).toBe(true);
    expect(timingSafeEqual('secret', 'secreT')).toBe(false);
    expect(timingSafeEqual('secret', 'secret2')).toBe(false);
  });
});
