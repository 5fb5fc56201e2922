import { base64url, CompactEncrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import { authzDecryptionKey, authzKey, InvalidDeviceAccessToken, openDeviceAccessToken, sealDeviceAccessToken } from './authz-token.ts';

const key = crypto.getRandomValues(new Uint8Array(32));
const grant = { userId: 'user-1', deviceId: 'device-1', role: 'operator' as const, ttlSeconds: 300 };

async function reason(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(InvalidDeviceAccessToken);
  return (err as InvalidDeviceAccessToken).reason;
}

describe('device-access token (JWE dir + A256GCM)', () => {
  it('opens with the imported decryption key exactly as with the raw key', async () => {
    const now = Date.UTC(2026, 0, 1);
    const { token, expiresAt } = await sealDeviceAccessToken(key, { ...grant, now });
    const access = await openDeviceAccessToken(await authzDecryptionKey(key), token, 'device-1', { now: now + 1000 });
    expect(access).toMatchObject({ userId: 'user-1', deviceId: 'device-1', role: 'operator', expiresAt });
    const other = await authzDecryptionKey(crypto.getRandomValues(new Uint8Array(32)));
    expect(await reason(openDeviceAccessToken(other, token, 'device-1', { now }))).toBe('malformed');
    expect(await reason(openDeviceAccessToken(await authzDecryptionKey(key), token, 'device-2', { now }))).toBe('wrong_device');
  });

  it('round-trips user, device, role and expiry, and is opaque', async () => {
    const now = Date.UTC(2026, 0, 1);
    const { token, expiresAt } = await sealDeviceAccessToken(key, { ...grant, now });
    expect(token.split('.')).toHaveLength(5);
    const header = JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[0]!)));
    expect(header).toEqual({ alg: 'dir', enc: 'A256GCM', typ: 'JWT' });
    expect(token).not.toContain(base64url.encode('operator'));
    expect(expiresAt).toBe(now / 1000 + 300);
    const access = await openDeviceAccessToken(key, token, 'device-1', { now: now + 1000 });
    expect(access).toMatchObject({ userId: 'user-1', deviceId: 'device-1', role: 'operator', expiresAt });
    expect(access.tokenId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('is refused for another device, after expiry, under another key, and when tampered with', async () => {
    const now = Date.now();
    const { token } = await sealDeviceAccessToken(key, { ...grant, now });
    expect(await reason(openDeviceAccessToken(key, token, 'device-2', { now }))).toBe('wrong_device');
    expect(await reason(openDeviceAccessToken(key, token, 'device-1', { now: now + 400_000 }))).toBe('expired');
    expect(await reason(openDeviceAccessToken(crypto.getRandomValues(new Uint8Array(32)), token, 'device-1', { now }))).toBe('malformed');
    const parts = token.split('.');
    const tag = parts[4]!;
    parts[4] = (tag[0] === 'A' ? 'B' : 'A') + tag.slice(1);
    expect(await reason(openDeviceAccessToken(key, parts.join('.'), 'device-1', { now }))).toBe('malformed');
  });

  it('refuses a token whose device claim disagrees with its audience, or with an unknown role', async () => {
    const now = Math.floor(Date.now() / 1000);
    const forge = (claims: Record<string, unknown>) =>
      new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ iss: 'gatehouse:authorizer', sub: 'u', jti: 'j', iat: now, exp: now + 60, ...claims })))
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .encrypt(key);
    expect(await reason(openDeviceAccessToken(key, await forge({ aud: 'device-proxy:device-1', device: 'device-9', role: 'owner' }), 'device-1'))).toBe('invalid_claims');
    expect(await reason(openDeviceAccessToken(key, await forge({ aud: 'device-proxy:device-1', device: 'device-1', role: 'root' }), 'device-1'))).toBe('invalid_claims');
  });

  it('takes only a 32-byte base64url key', () => {
    expect(authzKey(base64url.encode(key))).toEqual(key);
    expect(() => authzKey(base64url.encode(new Uint8Array(16)))).toThrow(/32 bytes/);
  });
});
