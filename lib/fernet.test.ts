import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64 } from './encoding.ts';
import {
  InvalidFernetKey,
  InvalidFernetToken,
  createMultiFernet,
  fernetDecrypt,
  fernetEncrypt,
  importFernetKey,
  parseFernetKey,
} from './fernet.ts';

// Vectors copied verbatim from https://github.com/fernet/spec (generate.json, verify.json, invalid.json).
const SECRET = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const HELLO = 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==';
const at = (iso: string): number => Date.parse(iso) / 1000;

const INVALID: { desc: string; token: string; now: string; reason: string }[] = [
  { desc: 'incorrect mac', reason: 'signature', now: '1985-10-26T01:20:01-07:00',
    token: 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykQUFBQUFBQUFBQQ==' },
  { desc: 'too short', reason: 'malformed', now: '1985-10-26T01:20:01-07:00',
    token: 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPA==' },
  { desc: 'invalid base64', reason: 'malformed', now: '1985-10-26T01:20:01-07:00',
    token: '%%%%%%%%%%%%%AECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykRtfsH-p1YsUD2Q==' },
  { desc: 'payload size not multiple of block size', reason: 'malformed', now: '1985-10-26T01:20:01-07:00',
    token: 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPOm73QeoCk9uGib28Xe5vz6oxq5nmxbx_v7mrfyudzUm' },
  { desc: 'payload padding error', reason: 'malformed', now: '1985-10-26T01:20:01-07:00',
    token: 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0ODz4LEpdELGQAad7aNEHbf-JkLPIpuiYRLQ3RtXatOYREu2FWke6CnJNYIbkuKNqOhw==' },
  { desc: 'far-future TS (unacceptable clock skew)', reason: 'expired', now: '1985-10-26T01:20:01-07:00',
    token: 'gAAAAAAdwStRAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAnja1xKYyhd-Y6mSkTOyTGJmw2Xc2a6kBd-iX9b_qXQcw==' },
  { desc: 'expired TTL', reason: 'expired', now: '1985-10-26T01:21:31-07:00',
    token: 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykRtfsH-p1YsUD2Q==' },
  { desc: 'incorrect IV (causes padding error)', reason: 'malformed', now: '1985-10-26T01:20:01-07:00',
    token: 'gAAAAAAdwJ6xBQECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAkLhFLHpGtDBRLRTZeUfWgHSv49TF2AUEZ1TIvcZjK1zQ==' },
];

/** Resolves to the thrown error so tests can assert on its class and reason. */
const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => new Error('did not throw'), (e: unknown) => e);
const newKey = (): string => bytesToBase64(crypto.getRandomValues(new Uint8Array(32))).replaceAll('+', '-').replaceAll('/', '_');
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe('Fernet spec vectors', () => {
  it('generate.json: reproduces the token byte for byte', async () => {
    const iv = new Uint8Array(16).map((_, i) => i);
    expect(at('1985-10-26T01:20:00-07:00')).toBe(499162800);
    expect(await fernetEncrypt(SECRET, 'hello', { now: at('1985-10-26T01:20:00-07:00'), iv })).toBe(HELLO);
  });

  it('verify.json: decrypts within the ttl', async () => {
    const plain = await fernetDecrypt(SECRET, HELLO, { ttlSeconds: 60, now: at('1985-10-26T01:20:01-07:00') });
    expect(text(plain)).toBe('hello');
  });

  it.each(INVALID)('invalid.json: refuses "$desc"', async ({ token, now, reason }) => {
    const err = await failure(fernetDecrypt(SECRET, token, { ttlSeconds: 60, now: at(now) }));
    expect(err).toBeInstanceOf(InvalidFernetToken);
    expect(err).toMatchObject({ name: 'InvalidFernetToken', reason, message: `invalid Fernet token (${reason})` });
  });
});

describe('fernetEncrypt / fernetDecrypt', () => {
  it('round-trips bytes with a pre-imported key and a random IV', async () => {
    const key = await importFernetKey(SECRET);
    const bytes = new Uint8Array(300).map((_, i) => i & 0xff);
    const a = await fernetEncrypt(key, bytes);
    const b = await fernetEncrypt(key, bytes);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^gAAAAA[A-Za-z0-9_-]+=*$/);
    expect(await fernetDecrypt(key, a)).toEqual(bytes);
    expect(text(await fernetDecrypt(SECRET, await fernetEncrypt(SECRET, '')))).toBe('');
  });

  it('enforces the ttl boundary and the 60 s clock skew', async () => {
    const token = await fernetEncrypt(SECRET, 'x', { now: 1000 });
    expect(text(await fernetDecrypt(SECRET, token, { ttlSeconds: 10, now: 1010 }))).toBe('x');
    expect(await failure(fernetDecrypt(SECRET, token, { ttlSeconds: 10, now: 1011 }))).toMatchObject({ reason: 'expired' });
    expect(text(await fernetDecrypt(SECRET, token, { now: 940 }))).toBe('x');
    expect(await failure(fernetDecrypt(SECRET, token, { now: 939 }))).toMatchObject({ reason: 'expired' });
  });

  it('refuses a token under the wrong key, a bad version byte and unpadded base64', async () => {
    expect(await failure(fernetDecrypt(newKey(), HELLO))).toMatchObject({ reason: 'signature' });
    const bytes = base64ToBytes(HELLO);
    bytes[0] = 0x81;
    const v81 = bytesToBase64(bytes).replaceAll('+', '-').replaceAll('/', '_');
    expect(await failure(fernetDecrypt(SECRET, v81))).toMatchObject({ reason: 'malformed' });
    expect(await failure(fernetDecrypt(SECRET, HELLO.replace(/=+$/, '')))).toMatchObject({ reason: 'malformed' });
  });
});

describe('parseFernetKey', () => {
  it('splits the key into signing and encryption halves', () => {
    const raw = base64ToBytes(SECRET);
    const { signingKey, encryptionKey } = parseFernetKey(SECRET);
    expect(signingKey).toEqual(raw.slice(0, 16));
    expect(encryptionKey).toEqual(raw.slice(16));
  });

  it.each([['short', SECRET.slice(4)], ['unpadded', SECRET.slice(0, -1)], ['standard alphabet', `+${SECRET.slice(1)}`], ['empty', '']])(
    'rejects a %s key',
    (_, key) => {
      expect(() => parseFernetKey(key)).toThrow(InvalidFernetKey);
    },
  );
});

describe('createMultiFernet', () => {
  const oldKey = newKey();
  const newPrimary = newKey();

  it('encrypts with the first key and decrypts with any key', async () => {
    const ring = createMultiFernet(` ${newPrimary} , ${oldKey},`);
    const fromOld = await fernetEncrypt(oldKey, '{"sub":"u1"}');
    expect(await ring.decryptText(fromOld)).toBe('{"sub":"u1"}');
    const fromRing = await ring.encrypt('claims');
    expect(text(await fernetDecrypt(newPrimary, fromRing))).toBe('claims');
    expect(await failure(fernetDecrypt(oldKey, fromRing))).toMatchObject({ reason: 'signature' });
    expect(await failure(ring.decrypt(await fernetEncrypt(newKey(), 'x')))).toBeInstanceOf(InvalidFernetToken);
  });

  it('applies ttl options to decrypt and decryptText', async () => {
    const ring = createMultiFernet([newPrimary, oldKey]);
    const token = await fernetEncrypt(oldKey, 'x', { now: 5000 });
    expect(await ring.decryptText(token, { ttlSeconds: 100, now: 5100 })).toBe('x');
    expect(await failure(ring.decrypt(token, { ttlSeconds: 100, now: 5101 }))).toMatchObject({ reason: 'expired' });
  });

  it('rotates to the primary key, keeping the timestamp and skipping the age check', async () => {
    const ring = createMultiFernet([newPrimary, oldKey]);
    const old = await fernetEncrypt(oldKey, 'payload', { now: 1234 });
    const rotated = await ring.rotate(old);
    expect(rotated).not.toBe(old);
    expect(base64ToBytes(rotated).subarray(0, 9)).toEqual(base64ToBytes(old).subarray(0, 9));
    expect(text(await fernetDecrypt(newPrimary, rotated, { ttlSeconds: 0, now: 1234 }))).toBe('payload');
    expect(await failure(createMultiFernet(newKey()).rotate(old))).toMatchObject({ reason: 'signature' });
  });

  it('rejects an empty or malformed key list up front', () => {
    expect(() => createMultiFernet(' , ')).toThrow(InvalidFernetKey);
    expect(() => createMultiFernet([])).toThrow(InvalidFernetKey);
    expect(() => createMultiFernet(`${newPrimary},nope`)).toThrow(InvalidFernetKey);
  });
});
