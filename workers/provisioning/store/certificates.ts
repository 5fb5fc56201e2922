import { and, desc, eq, sql } from 'drizzle-orm';
import type { CrlReason } from '../../../lib/pki/crl.ts';
import { deviceCertificates, devices } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';
import { provAudit, type ProvActor } from './audit.ts';
import { atomically } from './batch.ts';
import { bumpCrlRevision } from './crl.ts';

/** A device certificate as the admin API lists it (no PEM: it is public, but long). */
export type CertificateView = {
  serial: string;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
  status: 'active' | 'revoked' | 'expired';
  revokedAt: string | null;
  revocationReason: string | null;
};

/** The device row, or undefined. */
export const findDevice = (db: Database, deviceId: string) => db.query.devices.findFirst({ where: eq(devices.id, deviceId) });

/** Lists a device's certificates, newest first; an active certificate past its notAfter shows as `expired`. */
export async function listCertificates(db: Database, deviceId: string, now = Date.now()): Promise<CertificateView[]> {
  const rows = await db
    .select()
    .from(deviceCertificates)
    .where(eq(deviceCertificates.deviceId, deviceId))
    .orderBy(desc(deviceCertificates.notBefore), desc(deviceCertificates.createdAt));
  return rows.map((r) => ({
    serial: r.serial,
    fingerprintSha256: r.fingerprint,
    notBefore: new Date(r.notBefore).toISOString(),
    notAfter: new Date(r.notAfter).toISOString(),
    status: r.status === 'active' && r.notAfter <= now ? 'expired' : r.status,
    revokedAt: r.revokedAt === null ? null : new Date(r.revokedAt).toISOString(),
    revocationReason: r.revocationReason,
  }));
}

/** What to revoke: every active certificate of the device, or one of them by serial. */
export type Revocation = { deviceId: string; reason: CrlReason; serial?: string; now?: number };

/**
 * Revokes a device's active certificates in one batch: the certificate rows, the device status (`revoked`, except for
 * reason `superseded`, which retires a certificate and not the device), a `revoked` device event, the CRL revision
 * (so `/pki/crl` is rebuilt) and the audit row. Returns the serials this call revoked.
 */
export async function revokeCertificates(db: Database, r: Revocation, by: ProvActor): Promise<string[]> {
  const now = r.now ?? Date.now();
  const which = r.serial === undefined ? undefined : eq(deviceCertificates.serial, r.serial);
  const revokesDevice = r.reason !== 'superseded';
  const [revoked = []] = await atomically(db, [
    db
      .update(deviceCertificates)
      .set({ status: 'revoked', revokedAt: now, revocationReason: r.reason })
      .where(and(eq(deviceCertificates.deviceId, r.deviceId), eq(deviceCertificates.status, 'active'), which))
      .returning({ serial: deviceCertificates.serial }),
    ...(revokesDevice ? [db.update(devices).set({ status: 'revoked', updatedAt: now }).where(eq(devices.id, r.deviceId))] : []),
    sql`INSERT INTO device_events (device_id, type, detail, created_at)
      SELECT ${r.deviceId}, 'revoked', json_object('reason', ${r.reason}, 'serials', json_group_array(serial)), ${now}
      FROM device_certificates WHERE device_id = ${r.deviceId} AND revoked_at = ${now} AND revocation_reason = ${r.reason}`,
    bumpCrlRevision(db),
    provAudit(db, by, 'device.revoke', r.deviceId, { reason: r.reason, serial: r.serial ?? null, deviceRevoked: revokesDevice }),
  ]);
  return revoked.map((row) => String(row.serial));
}
