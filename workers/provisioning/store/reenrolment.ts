import { sql } from 'drizzle-orm';
import type { IssuedCertificate } from '../../../lib/pki/issue.ts';
import type { Database } from '../../db.ts';
import { atomically, type BatchStatement } from './batch.ts';
import { bumpCrlRevision } from './crl.ts';

/** What one re-enrolment stores: the device, the certificate it authenticated with and the new certificate. */
export type Reenrolment = {
  deviceId: string;
  previousSerial: string;
  cert: IssuedCertificate;
  keyType: string;
  /** Revoke the previous certificate (reason superseded) in the same batch. */
  revokePrevious: boolean;
  now: number;
};

/**
 * Stores a renewed certificate for an existing device in one batch (RFC 7030 §4.2.2): the insert runs only while the
 * device is not revoked and the certificate it authenticated with is still active, so an admin revocation racing the
 * renewal cannot be undone by it. The previous certificate stays valid unless `revokePrevious`. Returns whether it stored.
 */
export async function reenrolDevice(db: Database, r: Reenrolment): Promise<boolean> {
  const { deviceId, previousSerial, cert, now } = r;
  const stillTrusted = sql`EXISTS (SELECT 1 FROM devices WHERE id = ${deviceId} AND status <> 'revoked')
    AND EXISTS (SELECT 1 FROM device_certificates WHERE serial = ${previousSerial} AND device_id = ${deviceId} AND status = 'active')`;
  const stored = sql`EXISTS (SELECT 1 FROM device_certificates WHERE serial = ${cert.serialHex} AND device_id = ${deviceId})`;
  const supersede: BatchStatement[] = r.revokePrevious
    ? [
        sql`UPDATE device_certificates SET status = 'revoked', revoked_at = ${now}, revocation_reason = 'superseded'
          WHERE serial = ${previousSerial} AND status = 'active' AND ${stored}`,
        bumpCrlRevision(db),
      ]
    : [];
  const [inserted = []] = await atomically(db, [
    sql`INSERT INTO device_certificates (serial, device_id, fingerprint, not_before, not_after, status, pem, created_at)
      SELECT ${cert.serialHex}, ${deviceId}, ${cert.fingerprintSha256Hex}, ${cert.notBefore.getTime()}, ${cert.notAfter.getTime()},
        'active', ${cert.pem}, ${now} WHERE ${stillTrusted} RETURNING serial`,
    sql`INSERT INTO device_events (device_id, type, detail, created_at)
      SELECT ${deviceId}, 'reenrolled', json_object('certificate', ${cert.serialHex}, 'previous', ${previousSerial}, 'keyType', ${r.keyType}), ${now}
      WHERE ${stored}`,
    ...supersede,
  ]);
  return inserted.length === 1;
}
