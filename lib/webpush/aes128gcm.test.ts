import { describe, expect, it } from 'vitest';
import { bytesToBase64Url, fromUtf8, utf8 } from '../encoding.ts';
import { decryptAes128gcm, encryptAes128gcm, MAX_PLAINTEXT_BYTES, RECORD_SIZE } from './aes128gcm.ts';
import { fromBase64Url, generateEcdhKeyPair, importP256PrivateKey, subscriptionKeysProblem } from './keys.ts';

// RFC 8291 Appendix A, with its line breaks removed.
const A = {
  plaintext: 'When I grow up, I want to be a watermelon',
  asPublic: 'BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8',
  asPrivate: 'yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw',
  uaPublic: 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
  uaPrivate: 'q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94',
  salt: 'DGv6ra1nlYgDCS1FRnbzlw',
  authSecret: 'BTBZMqHH6r4Tts7J_aSIgg',
  message:
    'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN',
};

const rfcSender = async () => {
  const publicPoint = fromBase64Url(A.asPublic);
  return { privateKey: await importP256PrivateKey(A.asPrivate, publicPoint, 'ecdh'), publicPoint };
};
const rfcSubscription = () => ({ uaPublic: fromBase64Url(A.uaPublic), authSecret: fromBase64Url(A.authSecret) });

async function newUserAgent() {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
  const uaPublic = new Uint8Array((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer);
  return { uaPrivate: pair.privateKey, uaPublic, authSecret: crypto.getRandomValues(new Uint8Array(16)) };
}

describe('encryptAes128gcm (RFC 8291)', () => {
  it('reproduces the Appendix A message byte for byte', async () => {
    const body = await encryptAes128gcm(utf8(A.plaintext), rfcSubscription(), { salt: fromBase64Url(A.salt), sender: await rfcSender() });
    expect(bytesToBase64Url(body)).toBe(A.message);
    expect(body.length).toBe(86 + A.plaintext.length + 1 + 16);
  });

  it('writes the RFC 8188 header: salt, rs = 4096, idlen 65, keyid = the sender point', async () => {
    const body = await encryptAes128gcm(utf8('x'), rfcSubscription());
    expect(new DataView(body.buffer).getUint32(16)).toBe(RECORD_SIZE);
    expect(body[20]).toBe(65);
    expect(body[21]).toBe(4);
    const again = await encryptAes128gcm(utf8('x'), rfcSubscription());
    expect(bytesToBase64Url(again.subarray(0, 16))).not.toBe(bytesToBase64Url(body.subarray(0, 16)));
    expect(bytesToBase64Url(again.subarray(21, 86))).not.toBe(bytesToBase64Url(body.subarray(21, 86)));
  });

  it('the Appendix A message decrypts with the user agent private key', async () => {
    const uaPublic = fromBase64Url(A.uaPublic);
    const uaPrivate = await importP256PrivateKey(A.uaPrivate, uaPublic, 'ecdh');
    const plaintext = await decryptAes128gcm(fromBase64Url(A.message), { uaPrivate, uaPublic, authSecret: fromBase64Url(A.authSecret) });
    expect(fromUtf8(plaintext)).toBe(A.plaintext);
  });

  it('round-trips the largest allowed plaintext and refuses one byte more', async () => {
    const ua = await newUserAgent();
    const big = utf8('é'.repeat(MAX_PLAINTEXT_BYTES / 2) + (MAX_PLAINTEXT_BYTES % 2 ? 'a' : ''));
    expect(big.length).toBe(MAX_PLAINTEXT_BYTES);
    const body = await encryptAes128gcm(big, ua);
    expect(body.length).toBe(RECORD_SIZE);
    expect(fromUtf8(await decryptAes128gcm(body, ua))).toBe(fromUtf8(big));
    await expect(encryptAes128gcm(utf8('a'.repeat(MAX_PLAINTEXT_BYTES + 1)), ua)).rejects.toThrow(RangeError);
  });

  it('fails authentication with the wrong auth secret or a flipped bit', async () => {
    const ua = await newUserAgent();
    const body = await encryptAes128gcm(utf8('secret'), ua);
    await expect(decryptAes128gcm(body, { ...ua, authSecret: new Uint8Array(16) })).rejects.toThrow('does not authenticate');
    const tampered = body.slice();
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    await expect(decryptAes128gcm(tampered, ua)).rejects.toThrow('does not authenticate');
  });

  it('refuses malformed subscription keys', async () => {
    await expect(encryptAes128gcm(utf8('x'), { uaPublic: new Uint8Array(65), authSecret: new Uint8Array(16) })).rejects.toThrow();
    await expect(encryptAes128gcm(utf8('x'), { ...rfcSubscription(), authSecret: new Uint8Array(8) })).rejects.toThrow(TypeError);
  });
});

describe('subscriptionKeysProblem', () => {
  it('accepts real keys and explains each kind of bad one', async () => {
    const { publicPoint } = await generateEcdhKeyPair();
    const good = bytesToBase64Url(publicPoint);
    const auth = bytesToBase64Url(new Uint8Array(16));
    expect(await subscriptionKeysProblem(good, auth)).toBeNull();
    expect(await subscriptionKeysProblem(A.uaPublic, A.authSecret)).toBeNull();
    expect(await subscriptionKeysProblem(good, bytesToBase64Url(new Uint8Array(15)))).toBe('keys.auth must be 16 bytes');
    expect(await subscriptionKeysProblem(good.slice(0, 40), auth)).toBe('keys.p256dh must be a 65-byte uncompressed P-256 point');
    const offCurve = publicPoint.slice();
    offCurve[64] = (offCurve[64] ?? 0) ^ 1;
    expect(await subscriptionKeysProblem(bytesToBase64Url(offCurve), auth)).toBe('keys.p256dh is not a point on P-256');
    expect(await subscriptionKeysProblem('not base64!', auth)).toBe('keys must be base64url');
  });
});
