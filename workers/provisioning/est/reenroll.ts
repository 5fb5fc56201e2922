import { Hono } from 'hono';
import { issueDeviceCertificate } from '../../../lib/pki/issue.ts';
import type { AppEnv } from '../../app-env.ts';
import { database } from '../../db.ts';
import { currentCa } from '../ca.ts';
import { provisioningConfig } from '../config.ts';
import { authenticateDevice, DeviceAuthFailed, type AuthenticatedDevice } from '../device-auth.ts';
import { findDevice } from '../store/certificates.ts';
import { reenrolDevice } from '../store/reenrolment.ts';
import { csrFromBody } from './enroll.ts';
import { estError, pkcs7Response } from './respond.ts';

/** The `aud` a device JWT for re-enrolment must carry: this endpoint's public URL. */
export const reenrollAudience = (publicUrl: string) => `${publicUrl}/.well-known/est/simplereenroll`;

/**
 * `POST /.well-known/est/simplereenroll` (RFC 7030 §4.2.2): renews the certificate of an enrolled device, authenticated
 * by its current credential (device JWT with `x5c`, or Cloudflare mTLS). The new certificate names the same device id
 * and serial; the request may carry a new key. The old certificate stays valid until it expires unless
 * EST_REENROLL_REVOKES_PREVIOUS is "true", which revokes it as superseded in the same batch.
 */
export const simplereenroll = new Hono<AppEnv>().post('/.well-known/est/simplereenroll', async (c) => {
  const config = provisioningConfig(c.env);
  let device: AuthenticatedDevice;
  try {
    device = await authenticateDevice(c.env, c.req.raw, { audience: reenrollAudience(config.publicUrl) });
  } catch (e) {
    if (!(e instanceof DeviceAuthFailed)) throw e;
    c.get('log').warn('device authentication failed', { reason: e.reason, detail: e.detail });
    const challenge = e.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="gatehouse-est"' } : undefined;
    return estError(e.status, e.status === 403 ? 'device_revoked' : 'device_auth', e.message, challenge);
  }
  const csr = await csrFromBody(c.req.raw);
  if (csr instanceof Response) return csr;

  const db = database(c.env.DB);
  const now = Date.now();
  const row = await findDevice(db, device.deviceId);
  const cert = await issueDeviceCertificate({
    ca: await currentCa(c.env),
    publicKey: csr.spki,
    deviceId: device.deviceId,
    deviceSerial: row?.serial ?? null,
    validityDays: config.certValidityDays,
    crlUrl: config.crlUrl,
    now: new Date(now),
  });
  const stored = await reenrolDevice(db, {
    deviceId: device.deviceId,
    previousSerial: device.certificateSerial,
    cert,
    keyType: csr.keyType,
    revokePrevious: config.reenrollRevokesPrevious,
    now,
  });
  // Only a revocation between authentication and this batch can stop it.
  if (!stored) return estError(403, 'device_revoked', 'device certificate revoked');
  c.get('log').info('device re-enrolled', { deviceId: device.deviceId, certificate: cert.serialHex, previous: device.certificateSerial, method: device.method });
  return pkcs7Response([cert.der]);
});
