import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { authzKey, sealDeviceAccessToken } from '../lib/authz-token.ts';
import { BearerError } from '../lib/errors.ts';
import { verifyDeviceAccessToken } from '../workers/gateway/device-access.ts';

const SKEW = Number(env.CLOCK_SKEW_SECONDS ?? 60);
const seal = (deviceId: string, ttlSeconds: number, now = Date.now()) =>
  sealDeviceAccessToken(authzKey(env.AUTHZ_TOKEN_KEY), { userId: 'user-1', deviceId, role: 'operator', ttlSeconds, now });
const refusal = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (e instanceof BearerError ? `${e.status} ${e.error}: ${e.message}` : `threw ${String(e)}`));

afterEach(() => vi.useRealTimers());

describe('verifyDeviceAccessToken (remembers opened tokens per isolate)', () => {
  it('accepts a token again from memory, but only for its device and only until it expires', async () => {
    const deviceId = crypto.randomUUID();
    const { token, expiresAt } = await seal(deviceId, 10);
    const decrypt = vi.spyOn(crypto.subtle, 'decrypt');
    const first = await verifyDeviceAccessToken(env, token, deviceId);
    expect(first).toMatchObject({ userId: 'user-1', deviceId, role: 'operator', expiresAt });
    expect(await verifyDeviceAccessToken(env, token, deviceId)).toEqual(first);
    expect(decrypt).toHaveBeenCalledTimes(1);
    decrypt.mockRestore();
    // The same token presented at another device's proxy is refused, remembered or not.
    expect(await refusal(verifyDeviceAccessToken(env, token, crypto.randomUUID()))).toBe('401 invalid_token: The device access token is not valid for this device.');
    // Past its expiry (and the clock skew) the remembered token is refused like any expired one.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime((expiresAt + SKEW + 2) * 1000);
    expect(await refusal(verifyDeviceAccessToken(env, token, deviceId))).toBe('401 invalid_token: The device access token has expired.');
  });

  it('never remembers a refusal: a tampered token stays refused', async () => {
    const deviceId = crypto.randomUUID();
    const { token } = await seal(deviceId, 60);
    const tampered = `${token.slice(0, -4)}${token.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expect(await refusal(verifyDeviceAccessToken(env, tampered, deviceId))).toMatch(/^401 invalid_token/);
    expect(await refusal(verifyDeviceAccessToken(env, tampered, deviceId))).toMatch(/^401 invalid_token/);
    expect(await verifyDeviceAccessToken(env, token, deviceId)).toMatchObject({ deviceId });
  });
});
