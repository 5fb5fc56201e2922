import { EncryptJWT, base64url, errors, jwtDecrypt } from 'jose';

/**
 * The Authorizer's device-access token: a JWT encrypted with JWE `dir` + `A256GCM` (RFC 7516, RFC 7518 §4.5, §5.3) under
 * one 256-bit key, so it is opaque to the client that carries it. It names the user, the device and the user's role
 * there, and is accepted only by that device's proxy (`aud` = `device-proxy:<deviceId>`). Runtime-neutral.
 */

/** A device role, strongest first (as in schema/device-users.ts). */
export type DeviceAccessRole = 'owner' | 'admin' | 'operator' | 'viewer';

/** What a valid device-access token grants. */
export type DeviceAccess = { userId: string; deviceId: string; role: DeviceAccessRole; expiresAt: number; tokenId: string };

/** Why a device-access token was refused (the reason is for logs; clients only learn that it was). */
export class InvalidDeviceAccessToken extends Error {
  override name = 'InvalidDeviceAccessToken';
  readonly reason: 'malformed' | 'expired' | 'wrong_device' | 'invalid_claims';
  constructor(reason: InvalidDeviceAccessToken['reason'], message: string) {
    super(message);
    this.reason = reason;
  }
}

const ISSUER = 'gatehouse:authorizer';
const ROLES: readonly string[] = ['owner', 'admin', 'operator', 'viewer'];

/** The audience a device's proxy accepts. */
export const deviceAudience = (deviceId: string): string => `device-proxy:${deviceId}`;

/** Decodes `AUTHZ_TOKEN_KEY` (base64url of 32 random bytes); throws when it is not exactly that. */
export function authzKey(secret: string): Uint8Array {
  let key: Uint8Array;
  try {
    key = base64url.decode(secret.trim());
  } catch {
    throw new Error('AUTHZ_TOKEN_KEY is not base64url');
  }
  if (key.length !== 32) throw new Error('AUTHZ_TOKEN_KEY must be 32 bytes (base64url)');
  return key;
}

/** Encrypts a device-access token for `ttlSeconds`; returns it with its expiry (seconds since the epoch). */
export async function sealDeviceAccessToken(
  key: Uint8Array,
  grant: { userId: string; deviceId: string; role: DeviceAccessRole; ttlSeconds: number; now?: number },
): Promise<{ token: string; expiresAt: number }> {
  const now = Math.floor((grant.now ?? Date.now()) / 1000);
  const expiresAt = now + grant.ttlSeconds;
  const token = await new EncryptJWT({ device: grant.deviceId, role: grant.role })
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setSubject(grant.userId)
    .setAudience(deviceAudience(grant.deviceId))
    .setIssuedAt(now)
    .setExpirationTime(expiresAt)
    .setJti(crypto.randomUUID())
    .encrypt(key);
  return { token, expiresAt };
}

/** The key as an AES-256-GCM decryption CryptoKey, for callers that open many tokens (no key import per token). */
export const authzDecryptionKey = (key: Uint8Array): Promise<CryptoKey> =>
  crypto.subtle.importKey('raw', key as Uint8Array<ArrayBuffer>, { name: 'AES-GCM', length: 256 }, false, ['decrypt']);

/** Decrypts and checks a device-access token for `deviceId`; throws InvalidDeviceAccessToken. */
export async function openDeviceAccessToken(
  key: Uint8Array | CryptoKey,
  token: string,
  deviceId: string,
  opts: { now?: number; clockToleranceSeconds?: number } = {},
): Promise<DeviceAccess> {
  let payload;
  try {
    ({ payload } = await jwtDecrypt(token, key, {
      issuer: ISSUER,
      audience: deviceAudience(deviceId),
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
      requiredClaims: ['sub', 'exp', 'jti'],
      clockTolerance: opts.clockToleranceSeconds ?? 30,
      ...(opts.now === undefined ? {} : { currentDate: new Date(opts.now) }),
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new InvalidDeviceAccessToken('expired', 'the token has expired');
    if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'aud') throw new InvalidDeviceAccessToken('wrong_device', 'the token is for another device');
    throw new InvalidDeviceAccessToken('malformed', err instanceof Error ? err.message : 'undecryptable token');
  }
  const role = payload.role;
  if (payload.device !== deviceId || typeof role !== 'string' || !ROLES.includes(role)) throw new InvalidDeviceAccessToken('invalid_claims', 'the token claims are invalid');
  return { userId: payload.sub ?? '', deviceId, role: role as DeviceAccessRole, expiresAt: payload.exp ?? 0, tokenId: payload.jti ?? '' };
}
