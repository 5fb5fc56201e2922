/**
 * Device authentication, shared by EST re-enrolment and the device tunnel. A device proves who it is either with a
 * short-lived JWT it signed with its device key, carrying its certificate chain in `x5c` (RFC 7515 §4.1.6), or, behind
 * Cloudflare mTLS, with the client certificate of the TLS handshake (`request.cf.tlsClientAuth`). Either way the
 * certificate must be one this CA issued, still active in D1, unexpired, and its device not revoked.
 */
import { eq } from 'drizzle-orm';
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { ChainRejected } from '../../lib/pki/errors.ts';
import type { DeviceKeyType } from '../../lib/pki/keys.ts';
import { verifyDeviceChain, type VerifiedDevice } from '../../lib/pki/verify-chain.ts';
import { deviceCertificates, devices } from '../../schema/index.ts';
import { database, type Database } from '../db.ts';
import { currentCa } from './ca.ts';
import { rememberJti } from './store/jti.ts';

/** The JOSE `typ` of a device JWT (RFC 8725 §3.11 explicit typing); agent/device-jwt.ts sets the same value. */
export const DEVICE_JWT_TYP = 'gatehouse-device+jwt';
/** Longest lifetime (`exp` − `iat`) accepted for a device JWT, in seconds. */
export const DEVICE_JWT_MAX_LIFETIME_S = 300;
const CLOCK_TOLERANCE_S = 60;
const MAX_JWT_CHARS = 24_000;

// The one JWS algorithm each accepted key type signs with (RFC 7518 §3.1, RFC 8037 §3.1).
const ALGORITHMS: Record<DeviceKeyType, string[]> = {
  'ECDSA-P256': ['ES256'],
  'ECDSA-P384': ['ES384'],
  Ed25519: ['EdDSA', 'Ed25519'],
  RSA: ['RS256'],
};

/** Why a device was not authenticated; `reason` and `detail` are for logs, `message` may go on the wire. */
export type DeviceAuthReason = 'missing' | 'malformed' | 'untrusted' | 'bad_token' | 'replayed' | 'unknown_certificate' | 'expired' | 'revoked';

const MESSAGES: Record<DeviceAuthReason, string> = {
  missing: 'device credential required',
  malformed: 'malformed device credential',
  untrusted: 'certificate not issued by this authority',
  bad_token: 'device token invalid',
  replayed: 'device token already used',
  unknown_certificate: 'unknown device certificate',
  expired: 'device certificate expired',
  revoked: 'device certificate revoked',
};

/** The device could not be authenticated: 403 when its certificate or the device is revoked, 401 otherwise. */
export class DeviceAuthFailed extends Error {
  override readonly name = 'DeviceAuthFailed';
  readonly reason: DeviceAuthReason;
  readonly status: 401 | 403;
  readonly detail: string | undefined;

  constructor(reason: DeviceAuthReason, detail?: string) {
    super(MESSAGES[reason]);
    this.reason = reason;
    this.status = reason === 'revoked' ? 403 : 401;
    this.detail = detail;
  }
}

/** An authenticated device and the certificate it used. */
export type AuthenticatedDevice = {
  deviceId: string;
  method: 'jwt' | 'mtls';
  certificateSerial: string;
  fingerprintSha256: string;
  notAfter: Date;
  /** From the verified chain (JWT only; mTLS leaves the certificate with Cloudflare). */
  keyType: DeviceKeyType | null;
};

type TlsClientAuth = { certPresented?: string; certVerified?: string; certFingerprintSHA256?: string };

/** The certificate's row joined with its device, checked: active, unexpired, device not revoked. */
async function activeCertificate(db: Database, where: { serial: string } | { fingerprint: string }, now: number) {
  const [row] = await db
    .select({
      serial: deviceCertificates.serial,
      deviceId: deviceCertificates.deviceId,
      fingerprint: deviceCertificates.fingerprint,
      status: deviceCertificates.status,
      notAfter: deviceCertificates.notAfter,
      deviceStatus: devices.status,
    })
    .from(deviceCertificates)
    .innerJoin(devices, eq(devices.id, deviceCertificates.deviceId))
    .where('serial' in where ? eq(deviceCertificates.serial, where.serial) : eq(deviceCertificates.fingerprint, where.fingerprint))
    .limit(1);
  if (!row) throw new DeviceAuthFailed('unknown_certificate');
  if (row.status !== 'active' || row.deviceStatus === 'revoked') throw new DeviceAuthFailed('revoked', row.serial);
  if (row.notAfter <= now) throw new DeviceAuthFailed('expired', row.serial);
  return row;
}

async function verifyJwt(env: Env, db: Database, token: string, audience: string, now: number): Promise<AuthenticatedDevice> {
  if (token.length > MAX_JWT_CHARS) throw new DeviceAuthFailed('malformed', 'JWT too long');
  let x5c: unknown;
  try {
    x5c = decodeProtectedHeader(token).x5c;
  } catch {
    throw new DeviceAuthFailed('malformed', 'JWS header');
  }
  if (!Array.isArray(x5c) || !x5c.every((c) => typeof c === 'string')) throw new DeviceAuthFailed('malformed', 'x5c');
  let device: VerifiedDevice;
  try {
    device = await verifyDeviceChain(x5c, await currentCa(env), new Date(now));
  } catch (e) {
    if (!(e instanceof ChainRejected)) throw e;
    throw new DeviceAuthFailed(e.reason === 'expired' ? 'expired' : e.reason === 'malformed' ? 'malformed' : 'untrusted', e.detail);
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, device.publicKey, {
      algorithms: ALGORITHMS[device.keyType],
      audience,
      typ: DEVICE_JWT_TYP,
      subject: device.deviceId,
      requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      maxTokenAge: DEVICE_JWT_MAX_LIFETIME_S,
      clockTolerance: CLOCK_TOLERANCE_S,
      currentDate: new Date(now),
    }));
  } catch (e) {
    throw new DeviceAuthFailed('bad_token', e instanceof Error ? e.message : 'jwtVerify');
  }
  const { exp = 0, iat = 0, jti = '' } = payload;
  if (exp - iat > DEVICE_JWT_MAX_LIFETIME_S) throw new DeviceAuthFailed('bad_token', `lifetime ${exp - iat}s`);
  if (iat * 1000 > now + CLOCK_TOLERANCE_S * 1000) throw new DeviceAuthFailed('bad_token', 'iat in the future');
  if (jti.length < 16 || jti.length > 128) throw new DeviceAuthFailed('bad_token', 'jti length');

  const row = await activeCertificate(db, { serial: device.serialHex }, now);
  if (row.deviceId !== device.deviceId || row.fingerprint !== device.fingerprintSha256Hex) {
    throw new DeviceAuthFailed('unknown_certificate', 'row does not match the presented certificate');
  }
  // Only a token that passed every other check consumes its jti, so garbage cannot fill the table.
  if (!(await rememberJti(db, device.deviceId, jti, (exp + CLOCK_TOLERANCE_S) * 1000, now))) throw new DeviceAuthFailed('replayed');
  return {
    deviceId: device.deviceId,
    method: 'jwt',
    certificateSerial: row.serial,
    fingerprintSha256: row.fingerprint,
    notAfter: new Date(row.notAfter),
    keyType: device.keyType,
  };
}

async function verifyMtls(db: Database, tls: TlsClientAuth, now: number): Promise<AuthenticatedDevice> {
  if (tls.certVerified !== 'SUCCESS') throw new DeviceAuthFailed('untrusted', `mTLS ${tls.certVerified ?? 'unverified'}`);
  const fingerprint = (tls.certFingerprintSHA256 ?? '').replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(fingerprint)) throw new DeviceAuthFailed('malformed', 'mTLS fingerprint');
  const row = await activeCertificate(db, { fingerprint }, now);
  return {
    deviceId: row.deviceId,
    method: 'mtls',
    certificateSerial: row.serial,
    fingerprintSha256: row.fingerprint,
    notAfter: new Date(row.notAfter),
    keyType: null,
  };
}

/**
 * Authenticates the device behind a request: `Authorization: Bearer <device JWT>` (checked for `aud` = `audience`,
 * a lifetime of at most five minutes and a `jti` never seen before), else a Cloudflare-verified mTLS client
 * certificate matched by SHA-256 fingerprint. Throws `DeviceAuthFailed`; a misconfigured CA throws `CaInvalid`.
 */
export async function authenticateDevice(env: Env, request: Request, opts: { audience: string; now?: number }): Promise<AuthenticatedDevice> {
  const now = opts.now ?? Date.now();
  const db = database(env.DB);
  const authorization = request.headers.get('Authorization');
  if (authorization !== null) {
    const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+) *$/i.exec(authorization);
    if (!match?.[1]) throw new DeviceAuthFailed('malformed', 'Authorization is not a Bearer JWT');
    return verifyJwt(env, db, match[1], opts.audience, now);
  }
  const tls = (request.cf as { tlsClientAuth?: TlsClientAuth } | undefined)?.tlsClientAuth;
  if (tls?.certPresented === '1') return verifyMtls(db, tls, now);
  throw new DeviceAuthFailed('missing');
}
