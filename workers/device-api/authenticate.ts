/**
 * Who is calling the Device Gateway (`/device-api/v1/*`: config, events, notifications). `Authorization: Bearer` carries
 * either
 * - the short-lived **device token** the tunnel pushes (workers/devices/device-token.ts): a JWT signed by the platform
 *   key ring (RS256, a key of JWT_SIGNING_KEYS, checked against its public JWKS as workers/auth/verify.ts does),
 *   `iss` = ISSUER, `aud` = `device-api`, `sub` = the device id, at most an hour long, never a user's ID or access
 *   token; when it carries the RFC 8705 §3.1 confirmation `cnf["x5t#S256"]`, that certificate must be the active one; or
 * - the device's own **x5c JWT** (workers/provisioning/device-auth.ts: chain to this CA, active certificate, fresh
 *   `jti`) with `aud` = `device-api` or `${PUBLIC_URL}/device-api`;
 * and, without an Authorization header, a Cloudflare-verified mTLS client certificate. Either way the device must
 * exist, not be revoked and hold an active, unexpired certificate. Every failure is 401 bearer `invalid_token`
 * (the reason goes to the logs only).
 */
import { and, eq, gt } from 'drizzle-orm';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { base64ToBytes, bytesToHex } from '../../lib/encoding.ts';
import { BearerError } from '../../lib/errors.ts';
import { deviceCertificates, devices } from '../../schema/index.ts';
import { authConfig } from '../auth/config.ts';
import { keyRing } from '../auth/keys.ts';
import { CLOCK_SKEW_SECONDS } from '../auth/verify.ts';
import { database } from '../db.ts';
import { authenticateDevice, DeviceAuthFailed } from '../provisioning/device-auth.ts';

/** The `aud` of a tunnel-pushed device token, also accepted on x5c JWTs. */
export const DEVICE_API_AUDIENCE = 'device-api';
/** Longest accepted device-token lifetime (`exp` − `iat`), in seconds. */
export const DEVICE_TOKEN_MAX_LIFETIME_S = 3600;

/** The other `aud` an x5c JWT for the Device Gateway may carry: `${PUBLIC_URL}/device-api`. */
export const deviceApiAudience = (publicUrl: string) => `${publicUrl.replace(/\/+$/, '')}/device-api`;

/** An authenticated Device Gateway caller. */
export type DeviceCaller = { deviceId: string; method: 'device_token' | 'jwt' | 'mtls' };

const refuse = (internal: string) => new BearerError('invalid_token', 'The device credential is missing, invalid or revoked.', { internal });

const keySets = new Map<string, JWTVerifyGetKey>();
async function platformKeys(secret: string): Promise<JWTVerifyGetKey> {
  let set = keySets.get(secret);
  if (!set) keySets.set(secret, (set = createLocalJWKSet((await keyRing(secret)).jwks)));
  return set;
}

/** The hex SHA-256 certificate fingerprint a device token is bound to (RFC 8705 §3.1), if it is bound. */
function boundFingerprint(payload: Record<string, unknown>): string | undefined {
  const cnf = payload.cnf;
  if (cnf === undefined) return undefined;
  const thumbprint = typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>)['x5t#S256'] : undefined;
  if (typeof thumbprint !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(thumbprint)) throw refuse('device token: malformed cnf');
  return bytesToHex(base64ToBytes(thumbprint));
}

async function verifyDeviceToken(env: Env, token: string, now: number): Promise<DeviceCaller> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, await platformKeys(env.JWT_SIGNING_KEYS), {
      issuer: authConfig(env).issuer,
      audience: DEVICE_API_AUDIENCE,
      algorithms: ['RS256'],
      requiredClaims: ['exp', 'iat', 'sub'],
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(now),
    }));
  } catch (err) {
    throw refuse(`device token: ${err instanceof Error ? err.message : 'invalid'}`);
  }
  // A user's ID or access token is never a device credential, whatever its audience.
  if (payload.token_use === 'id' || payload.token_use === 'access') throw refuse('device token: a user token');
  if (Number(payload.exp) - Number(payload.iat) > DEVICE_TOKEN_MAX_LIFETIME_S) throw refuse('device token: lifetime too long');
  const fingerprint = boundFingerprint(payload);
  const deviceId = String(payload.sub);
  const [row] = await database(env.DB)
    .select({ status: devices.status })
    .from(devices)
    .innerJoin(deviceCertificates, eq(deviceCertificates.deviceId, devices.id))
    .where(
      and(
        eq(devices.id, deviceId),
        eq(deviceCertificates.status, 'active'),
        gt(deviceCertificates.notAfter, now),
        fingerprint ? eq(deviceCertificates.fingerprint, fingerprint) : undefined,
      ),
    )
    .limit(1);
  if (!row || row.status === 'revoked') throw refuse('device token: no active certificate, or device revoked');
  return { deviceId, method: 'device_token' };
}

/** Authenticates the device behind a Device Gateway request, or throws a 401 `BearerError`. */
export async function authenticateDeviceCaller(env: Env, request: Request, now = Date.now()): Promise<DeviceCaller> {
  const authorization = request.headers.get('Authorization');
  const token = authorization ? /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+) *$/i.exec(authorization)?.[1] : undefined;
  if (authorization && !token) throw refuse('Authorization is not a Bearer JWT');
  let audience = deviceApiAudience(authConfig(env).publicUrl);
  if (token) {
    let x5c: unknown;
    let aud: unknown;
    try {
      x5c = decodeProtectedHeader(token).x5c;
      aud = decodeJwt(token).aud;
    } catch {
      throw refuse('malformed JWT');
    }
    if (x5c === undefined) return verifyDeviceToken(env, token, now);
    // Both spellings are accepted; the signature check that follows binds whichever the device signed.
    if (aud === DEVICE_API_AUDIENCE) audience = DEVICE_API_AUDIENCE;
  }
  try {
    const device = await authenticateDevice(env, request, { audience, now });
    return { deviceId: device.deviceId, method: device.method };
  } catch (err) {
    if (err instanceof DeviceAuthFailed) throw refuse(`${err.reason}${err.detail ? `: ${err.detail}` : ''}`);
    throw err;
  }
}
