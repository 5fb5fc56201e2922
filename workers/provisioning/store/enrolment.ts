import { and, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { IssuedCertificate } from '../../../lib/pki/issue.ts';
import { otps } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';
import { atomically } from './batch.ts';
import type { OtpRow } from './otps.ts';

/** Why an OTP cannot enrol a device. */
export type OtpRefusal = 'unknown' | 'expired' | 'used' | 'revoked' | 'serial_required' | 'serial_mismatch';

/**
 * Why the OTP `row` cannot enrol a device whose request names `serial`, or null when it can at `now`. Used before the
 * CA signs anything (so a bad OTP costs no signature) and to explain a lost race; the batch below decides for real.
 */
export function otpRefusal(row: OtpRow | undefined, serial: string | null, now: number): OtpRefusal | null {
  if (!row) return 'unknown';
  if (row.usedAt !== null) return 'used';
  if (row.revokedAt !== null) return 'revoked';
  if (row.expiresAt <= now) return 'expired';
  if (row.serial !== null && serial === null) return 'serial_required';
  if (row.serial !== null && row.serial !== serial) return 'serial_mismatch';
  return null;
}

/** What one enrolment stores: the consumed OTP (by hash), the new device, its first certificate and, if the OTP was issued for one, its organisation. */
export type Enrolment = {
  otpHash: string;
  deviceId: string;
  deviceSerial: string | null;
  cert: IssuedCertificate;
  keyType: string;
  now: number;
};

/**
 * Consumes the OTP and creates the device, its certificate and its `enrolled` event in ONE D1 batch (one transaction).
 * The conditional UPDATE … RETURNING claims the OTP for this device id; every insert after it runs only if that claim
 * is in place, so of two parallel enrolments with one OTP exactly one stores anything. Returns whether this one won.
 */
export async function enrolDevice(db: Database, e: Enrolment): Promise<boolean> {
  const { otpHash, deviceId, cert, now } = e;
  const claimed = sql`EXISTS (SELECT 1 FROM otps WHERE code_hash = ${otpHash} AND used_by = ${deviceId})`;
  const [consumed = []] = await atomically(db, [
    db
      .update(otps)
      .set({ usedAt: now, usedBy: deviceId })
      .where(
        and(
          eq(otps.codeHash, otpHash),
          isNull(otps.usedAt),
          isNull(otps.revokedAt),
          gt(otps.expiresAt, now),
          // A serial-bound OTP enrols only that serial; `serial = NULL` is never true, so a request without one fails.
          or(isNull(otps.serial), sql`${otps.serial} = ${e.deviceSerial}`),
        ),
      )
      .returning({ id: otps.id }),
    sql`INSERT INTO devices (id, serial, status, created_at, updated_at)
      SELECT ${deviceId}, ${e.deviceSerial}, 'unclaimed', ${now}, ${now} WHERE ${claimed}`,
    sql`INSERT INTO device_certificates (serial, device_id, fingerprint, not_before, not_after, status, pem, created_at)
      SELECT ${cert.serialHex}, ${deviceId}, ${cert.fingerprintSha256Hex}, ${cert.notBefore.getTime()}, ${cert.notAfter.getTime()},
        'active', ${cert.pem}, ${now} WHERE ${claimed}`,
    sql`INSERT INTO device_events (device_id, type, detail, created_at)
      SELECT ${deviceId}, 'enrolled', json_object('certificate', ${cert.serialHex}, 'otp', id, 'keyType', ${e.keyType}), ${now}
      FROM otps WHERE code_hash = ${otpHash} AND used_by = ${deviceId}`,
    // An OTP issued for an organisation puts the device in it (workers/orgs/device-store.ts explains the link).
    sql`INSERT INTO device_orgs (device_id, org_id, assigned_by, created_at)
      SELECT ${deviceId}, otp_orgs.org_id, 'prov-admin', ${now}
      FROM otps JOIN otp_orgs ON otp_orgs.otp_id = otps.id WHERE otps.code_hash = ${otpHash} AND otps.used_by = ${deviceId}`,
    sql`INSERT INTO audit_log (actor, action, target, detail, request_id, created_at)
      SELECT 'prov-admin', 'org.device_assign', otp_orgs.org_id, json_object('deviceId', ${deviceId}, 'otp', otps.id), NULL, ${now}
      FROM otps JOIN otp_orgs ON otp_orgs.otp_id = otps.id WHERE otps.code_hash = ${otpHash} AND otps.used_by = ${deviceId}`,
  ]);
  return consumed.length === 1;
}
