/**
 * Who is calling the Device Gateway. Two credentials are accepted in `Authorization: Bearer`:
 * - the short-lived **device token** the tunnel pushes: a JWT signed by the platform key ring (RS256, a key of
 *   JWT_SIGNING_KEYS), `iss` = ISSUER, `aud` = `device-api`, `sub` = the device id, `exp` at most an hour after `iat`;
 *   if it carries the RFC 8705 §3.1 confirmation `cnf["x5t#S256"]`, that certificate must be the active one;
 * - the device's own **x5c JWT** (workers/provisioning/device-auth.ts) with `aud` = `device-api`;
 * and, without an Authorization header, a Cloudflare-verified mTLS client certificate. Either way the device must
 * exist, not be revoked, and hold an active, unexpired certificate. Every failure is a 401 bearer `invalid_token`.
 */
import { and, eq, gt } from 'drizzle-orm';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { bytesToHex } from '../../lib/encoding.ts';
import { BearerError } from '../../lib/errors.ts';
import { fromBase64Url } from '../../lib/webpush/keys.ts';
import { deviceCertificates, devices } from '../../schema/index.ts';
import { authConfig } from '../auth/config.ts';
import { keyRing } from '../auth/keys.ts';
import { database } from '../db.ts';
import { authenticateDevice, DeviceAuthFailed } from '../provisioning/device-auth.ts';

/** The audience of both device credentials at the Device Gateway. */
export const DEVICE_API_AUDIENCE = 'device-api';
/** Longest accepted device-token lifetime, in seconds. */
export const DEVICE_TOKEN_MAX_LIFETIME_S = 3600;

/** An authenticated Device Gateway caller. */
export type DeviceCaller = { deviceId: string; method: 'device_token' | 'jwt' | 'mtls' };

const keySets = new Map<string, JWTVerifyGetKey>();
async function platformKeys(secret: string): Promise<JWTVerifyGetKey> {
  let set = keySets.get(secret);
  if (!set) {
    set = createLocalJWKSet((await keyRing(secret)).jwks);
    keySets.set(secret, set);
  }
  return set;
}

const refuse = (internal: string) => new BearerError('invalid_token', 'The device credential is missing, invalid or revoked.', { internal });

async function verifyDeviceToken(env: Env, token: string, now: number): Promise<DeviceCaller> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, await platformKeys(env.JWT_SIGNING_KEYS), {
      issuer: authConfig(env).issuer,
      audience: DEVICE_API_AUDIENCE,
      algorithms: ['RS256'],
      requiredClaims: ['exp', 'iat', 'sub'],
      clockTolerance: 60,
      currentDate: new Date(now),
    }));
  } catch (err) {
    throw refuse(`device token: ${err instanceof Error ? err.message : 'invalid'}`);
  }
  // A user's ID or access token is never a device credential, whatever its audience.
  if (payload.token_use === 'id' || payload.token_use === 'access') throw refuse('device token: a user token');
  const iat = Number(payload.iat);
  if (Number(payload.exp) - iat > DEVICE_TOKEN_MAX_LIFETIME_S) throw refuse('device token: lifetime too long');
  const deviceId = String(payload.sub);
  const cnf = payload.cnf as { 'x5t#S256'?: unknown } | undefined;
  let fingerprint: string | undefined;
  if (cnf?.['x5t#S256'] !== undefined) {
    try {
      fingerprint = bytesToHex(fromBase64Url(String(cnf['x5t#S256'])));
    } catch {
      throw refuse('device token: cnf');
    }
  }
  const db = database(env.DB);
  const [row] = await db
    .select({ status: devices.status })
    .from(devices)
    .innerJoin(deviceCertificates, eq(deviceCertificates.deviceId, devices.id))
    .where(and(eq(devices.id, deviceId), eq(deviceCertificates.status, 'active'), gt(deviceCertificates.notAfter, now), fingerprint ? eq(deviceCertificates.fingerprint, fingerprint) : undefined))
    .limit(1);
  if (!row || row.status === 'revoked') throw refuse('device token: no active certificate or device revoked');
  return { deviceId, method: 'device_token' };
}

/** Authenticates the device behind a Device Gateway request, or throws a 401 `BearerError` (reason in the logs only). */
export async function authenticateDeviceCaller(env: Env, request: Request, now = Date.now()): Promise<DeviceCaller> {
  const authorization = request.headers.get('Authorization');
  const token = authorization ? /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+) *$/i.exec(authorization)?.[1] : undefined;
  if (authorization && !token) throw refuse('Authorization is not a Bearer JWT');
  let x5c = false;
  if (token) {
    try {
      x5c = decodeProtectedHeader(token).x5c !== undefined;
    } catch {
      throw refuse('malformed JWS header');
    }
    if (!x5c) return verifyDeviceToken(env, token, now);
  }
  try {
    const device = await authenticateDevice(env, request, { audience: DEVICE_API_AUDIENCE, now });
    return { deviceId: device.deviceId, method: device.method };
  } catch (err) {
    if (err instanceof DeviceAuthFailed) throw refuse(`${err.reason}${err.detail ? `: ${err.detail}` : ''}`);
    throw err;
  }
}
