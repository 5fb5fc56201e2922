import { authzDecryptionKey, authzKey, InvalidDeviceAccessToken, openDeviceAccessToken, sealDeviceAccessToken, type DeviceAccess, type DeviceAccessRole } from '../../lib/authz-token.ts';
import { BearerError } from '../../lib/errors.ts';
import { gatewayConfig } from './config.ts';

/**
 * The Authorizer's tokens as the Worker uses them: issued by `POST /api/devices/:deviceId/authorize`, checked by the
 * device proxy (`/devices/:deviceId/proxy/*`). A token is not re-checked against `device_users`: revoking a user's
 * access refuses new authorizations at once, and tokens already issued stop working when they expire
 * (AUTHZ_TOKEN_TTL_SECONDS, 5 minutes by default).
 */

const keys = new Map<string, Uint8Array>();

function keyOf(env: Env): Uint8Array {
  let key = keys.get(env.AUTHZ_TOKEN_KEY);
  if (!key) {
    key = authzKey(env.AUTHZ_TOKEN_KEY);
    keys.set(env.AUTHZ_TOKEN_KEY, key);
  }
  return key;
}

// The proxy opens a token per request: the decryption key is imported once per secret, not once per token.
const decryptionKeys = new Map<string, Promise<CryptoKey>>();

function decryptionKeyOf(env: Env): Promise<CryptoKey> {
  let key = decryptionKeys.get(env.AUTHZ_TOKEN_KEY);
  if (!key) {
    key = authzDecryptionKey(keyOf(env));
    decryptionKeys.set(env.AUTHZ_TOKEN_KEY, key);
    // A failed import is not kept: the next request tries again.
    key.catch(() => decryptionKeys.delete(env.AUTHZ_TOKEN_KEY));
  }
  return key;
}

/** Issues a device-access token for a user's role on a device; `expiresIn` is in seconds. */
export async function issueDeviceAccessToken(env: Env, grant: { userId: string; deviceId: string; role: DeviceAccessRole }): Promise<{ token: string; expiresIn: number }> {
  const ttlSeconds = gatewayConfig(env).authzTokenTtlSeconds;
  const { token } = await sealDeviceAccessToken(keyOf(env), { ...grant, ttlSeconds });
  return { token, expiresIn: ttlSeconds };
}

/** How many opened tokens an isolate remembers. */
const OPENED_CAPACITY = 1000;
// A client sends the same token with every proxied request of a session, and opening it (a JWE decryption and the
// claim checks) is a large part of what the proxy costs per request: what a token opened to is kept per isolate,
// by key, token and device, and its expiry is checked again on every use. Only tokens that opened are kept.
const opened = new Map<string, Map<string, DeviceAccess>>();

function openedFor(env: Env): Map<string, DeviceAccess> {
  let cache = opened.get(env.AUTHZ_TOKEN_KEY);
  if (!cache) {
    cache = new Map();
    opened.set(env.AUTHZ_TOKEN_KEY, cache);
  }
  return cache;
}

/**
 * Verifies a device-access token for the device whose proxy received it (for the device proxy). A refusal is an
 * RFC 6750 `invalid_token` (401); the precise reason goes to the logs only.
 */
export async function verifyDeviceAccessToken(env: Env, token: string, deviceId: string): Promise<DeviceAccess> {
  const skew = gatewayConfig(env).clockSkewSeconds;
  const cache = openedFor(env);
  const cacheKey = `${deviceId} ${token}`;
  const known = cache.get(cacheKey);
  if (known && Date.now() / 1000 <= known.expiresAt + skew) return known;
  cache.delete(cacheKey);
  try {
    const access = await openDeviceAccessToken(await decryptionKeyOf(env), token, deviceId, { clockToleranceSeconds: skew });
    if (cache.size >= OPENED_CAPACITY) cache.delete(cache.keys().next().value!);
    cache.set(cacheKey, access);
    return access;
  } catch (err) {
    if (err instanceof InvalidDeviceAccessToken) {
      throw new BearerError('invalid_token', err.reason === 'expired' ? 'The device access token has expired.' : 'The device access token is not valid for this device.', { internal: err.message });
    }
    throw err;
  }
}
