import { Hono } from 'hono';
import { sha256Hex } from '../../../lib/encoding.ts';
import { CSR_MAX_BYTES, parseAndCheckCsr, type CheckedCsr } from '../../../lib/pki/csr.ts';
import { CsrRejected } from '../../../lib/pki/errors.ts';
import { issueDeviceCertificate } from '../../../lib/pki/issue.ts';
import type { AppEnv } from '../../app-env.ts';
import { database } from '../../db.ts';
import { currentCa } from '../ca.ts';
import { provisioningConfig } from '../config.ts';
import { enrolDevice, otpRefusal, type OtpRefusal } from '../store/enrolment.ts';
import { findOtp } from '../store/otps.ts';
import { otpFromAuthorization } from './otp-credential.ts';
import { estError, OTP_CHALLENGE, pkcs7Response, readBoundedBody } from './respond.ts';

const REFUSALS: Record<OtpRefusal, () => Response> = {
  unknown: () => estError(401, 'otp_unknown', 'unknown one-time passcode', OTP_CHALLENGE),
  expired: () => estError(403, 'otp_expired', 'one-time passcode expired'),
  used: () => estError(403, 'otp_used', 'one-time passcode already used'),
  revoked: () => estError(403, 'otp_revoked', 'one-time passcode revoked'),
  serial_required: () =>
    estError(403, 'otp_serial_required', 'one-time passcode is bound to a device serial: put it in the request subject serialNumber'),
  serial_mismatch: () => estError(403, 'otp_serial_mismatch', 'one-time passcode is bound to another device serial'),
};

/** A PKCS#10 refusal as RFC 7030 §4.2.3 asks: 400 with the fixed, short reason (the parser's detail stays in the logs). */
export function csrRefusal(e: CsrRejected): Response {
  return estError(e.reason === 'too_large' ? 413 : 400, e.reason === 'too_large' ? 'too_large' : 'bad_request', e.message);
}

/** Parses the request body as a CSR, or returns the 4xx to send; anything but a `CsrRejected` is a bug and propagates. */
export async function csrFromBody(request: Request): Promise<CheckedCsr | Response> {
  const body = await readBoundedBody(request, CSR_MAX_BYTES);
  if (body instanceof Response) return body;
  try {
    return await parseAndCheckCsr(body);
  } catch (e) {
    if (e instanceof CsrRejected) return csrRefusal(e);
    throw e;
  }
}

/**
 * `POST /.well-known/est/simpleenroll` (RFC 7030 §4.2.1): a base64 DER PKCS#10 authenticated by a one-time passcode.
 * The device serial is the request subject's serialNumber attribute (inside the signed request, so it cannot be
 * swapped in transit); a serial-bound OTP enrols only that serial. The OTP is checked before the CA signs anything,
 * then consumed in the same D1 batch that creates the device (status `unclaimed`) and its certificate.
 */
export const simpleenroll = new Hono<AppEnv>().post('/.well-known/est/simpleenroll', async (c) => {
  const now = Date.now();
  const otp = otpFromAuthorization(c.req.header('Authorization'));
  if (otp === null) return estError(401, 'auth_required', 'one-time passcode required (HTTP Basic password or Bearer)', OTP_CHALLENGE);
  const db = database(c.env.DB);
  const row = await findOtp(db, otp);
  const early = otpRefusal(row, null, now);
  if (early !== null && early !== 'serial_required') return REFUSALS[early]();

  const csr = await csrFromBody(c.req.raw);
  if (csr instanceof Response) return csr;
  const refusal = otpRefusal(row, csr.serialNumber, now);
  if (refusal !== null) return REFUSALS[refusal]();

  const config = provisioningConfig(c.env);
  const deviceId = crypto.randomUUID();
  const cert = await issueDeviceCertificate({
    ca: await currentCa(c.env),
    publicKey: csr.spki,
    deviceId,
    deviceSerial: csr.serialNumber,
    validityDays: config.certValidityDays,
    crlUrl: config.crlUrl,
    now: new Date(now),
  });
  const otpHash = await sha256Hex(otp);
  const won = await enrolDevice(db, { otpHash, deviceId, deviceSerial: csr.serialNumber, cert, keyType: csr.keyType, now });
  if (!won) {
    // A parallel request (or a revocation) got to the OTP between the check and the batch: explain what it is now.
    const reason = otpRefusal(await findOtp(db, otp), csr.serialNumber, Date.now()) ?? 'used';
    c.get('log').warn('enrolment lost the OTP', { otpId: row?.id, reason });
    return REFUSALS[reason]();
  }
  c.get('log').info('device enrolled', { deviceId, certificate: cert.serialHex, otpId: row?.id, keyType: csr.keyType });
  return pkcs7Response([cert.der]);
});
