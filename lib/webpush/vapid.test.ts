import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { bytesToBase64Url, fromUtf8 } from '../encoding.ts';
import { fromBase64Url, generateVapidPrivateJwk, pointToJwk } from './keys.ts';
import { buildPushRequest } from './request.ts';
import { loadVapidKeys, pushAudience, signVapidJwt, vapidAuthorization, VAPID_MAX_LIFETIME_SECONDS } from './vapid.ts';

const now = Date.UTC(2030, 0, 1) / 1000;

describe('VAPID (RFC 8292)', () => {
  it('signs an ES256 JWT with aud, exp and sub that verifies against the public key k', async () => {
    const keys = await loadVapidKeys(JSON.stringify(await generateVapidPrivateJwk()));
    const jwt = await signVapidJwt({ audience: 'https://push.example.net', subject: 'mailto:ops@example.com', keys, expiresAt: now + 12 * 3600, now: now * 1000 });
    expect(decodeProtectedHeader(jwt)).toEqual({ typ: 'JWT', alg: 'ES256' });
    const publicKey = await importJWK(pointToJwk(fromBase64Url(keys.publicKey)), 'ES256');
    const { payload } = await jwtVerify(jwt, publicKey, { currentDate: new Date(now * 1000), algorithms: ['ES256'] });
    expect(payload).toEqual({ aud: 'https://push.example.net', exp: now + 12 * 3600, sub: 'mailto:ops@example.com' });
    expect(fromBase64Url(jwt.split('.')[2] ?? '').length).toBe(64);
    expect(vapidAuthorization(jwt, keys.publicKey)).toBe(`vapid t=${jwt}, k=${keys.publicKey}`);
    expect(fromBase64Url(keys.publicKey).length).toBe(65);
  });

  it('refuses an expiry beyond 24 hours or in the past, and a subject that is not a contact', async () => {
    const keys = await loadVapidKeys(JSON.stringify(await generateVapidPrivateJwk()));
    const base = { audience: 'https://push.example.net', subject: 'mailto:a@b.c', keys, now: now * 1000 };
    await expect(signVapidJwt({ ...base, expiresAt: now + VAPID_MAX_LIFETIME_SECONDS + 1 })).rejects.toThrow(RangeError);
    await expect(signVapidJwt({ ...base, expiresAt: now - 1 })).rejects.toThrow(RangeError);
    await expect(signVapidJwt({ ...base, subject: 'ops@example.com', expiresAt: now + 60 })).rejects.toThrow(TypeError);
    expect(await signVapidJwt({ ...base, subject: 'https://example.com/contact', expiresAt: now + VAPID_MAX_LIFETIME_SECONDS })).toMatch(/^ey/);
  });

  it('loads a JWK or the web-push pair (base64url d + public point), and detects halves that do not match', async () => {
    const jwk = await generateVapidPrivateJwk();
    const fromJwk = await loadVapidKeys(JSON.stringify(jwk));
    const point = bytesToBase64Url(new Uint8Array([4, ...fromBase64Url(jwk.x), ...fromBase64Url(jwk.y)]));
    expect(fromJwk.publicKey).toBe(point);
    expect((await loadVapidKeys(jwk.d, point)).publicKey).toBe(point);
    const other = await generateVapidPrivateJwk();
    await expect(loadVapidKeys(other.d, point)).rejects.toThrow('does not match');
    await expect(loadVapidKeys(jwk.d)).rejects.toThrow('VAPID_PUBLIC_KEY is required');
    await expect(loadVapidKeys('{"kty":"RSA"}')).rejects.toThrow('private P-256 JWK');
    await expect(loadVapidKeys(JSON.stringify(jwk), bytesToBase64Url(new Uint8Array([4, ...fromBase64Url(other.x), ...fromBase64Url(other.y)])))).rejects.toThrow('does not match');
  });

  it('uses the endpoint origin as audience', () => {
    expect(pushAudience('https://fcm.googleapis.com/fcm/send/abc:def')).toBe('https://fcm.googleapis.com');
    expect(pushAudience('https://updates.push.services.mozilla.com:443/wpush/v2/x')).toBe('https://updates.push.services.mozilla.com');
  });
});

describe('buildPushRequest (RFC 8030 §5)', () => {
  it('posts the aes128gcm body with TTL, Urgency, Topic and the vapid Authorization, and no legacy headers', async () => {
    const ua = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
    const p256dh = bytesToBase64Url(new Uint8Array((await crypto.subtle.exportKey('raw', ua.publicKey)) as ArrayBuffer));
    const req = await buildPushRequest({
      subscription: { endpoint: 'https://push.example.net/p/1', keys: { p256dh, auth: bytesToBase64Url(new Uint8Array(16)) } },
      payload: '{"title":"hi"}',
      authorization: 'vapid t=a.b.c, k=BBB',
      ttlSeconds: 3600,
      urgency: 'high',
      topic: 'device-1',
    });
    expect(req.url).toBe('https://push.example.net/p/1');
    expect(req.init.headers).toEqual({
      'Content-Type': 'application/octet-stream',
      'Content-Encoding': 'aes128gcm',
      TTL: '3600',
      Urgency: 'high',
      Topic: 'device-1',
      Authorization: 'vapid t=a.b.c, k=BBB',
    });
    expect(req.init.body.length).toBe(86 + 14 + 1 + 16);
    expect(fromUtf8(req.init.body)).not.toContain('title');
    await expect(buildPushRequest({ subscription: { endpoint: 'https://x', keys: { p256dh, auth: 'AAAAAAAAAAAAAAAAAAAAAA' } }, payload: 'x', authorization: 'a', ttlSeconds: -1 })).rejects.toThrow(RangeError);
  });
});
