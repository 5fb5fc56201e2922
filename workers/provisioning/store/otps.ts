import { and, desc, eq, gt, isNotNull, isNull, lte, sql, type SQL } from 'drizzle-orm';
import { randomToken, sha256Hex } from '../../../lib/encoding.ts';
import { otpOrgs, otps } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';
import { provAudit, provAuditIf, type ProvActor } from './audit.ts';
import { atomically } from './batch.ts';

/** A stored OTP row (the code itself is never stored: only its SHA-256). */
export type OtpRow = typeof otps.$inferSelect;

/** Where an OTP is in its life. */
export type OtpStatus = 'active' | 'used' | 'revoked' | 'expired';

/** An OTP as the admin API shows it: everything but the hash. */
export type OtpView = {
  id: string;
  status: OtpStatus;
  serial: string | null;
  note: string | null;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  usedBy: string | null;
  revokedAt: string | null;
};

/** OTPs carry 128 random bits (issue 4), as 22 URL-safe base64 characters that fit an HTTP Basic password unescaped. */
export const OTP_BYTES = 16;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The status of an OTP at `now`; use wins over revocation and expiry because it is what happened. */
export function otpStatus(row: OtpRow, now: number): OtpStatus {
  if (row.usedAt !== null) return 'used';
  if (row.revokedAt !== null) return 'revoked';
  return row.expiresAt <= now ? 'expired' : 'active';
}

/** The admin view of a row. */
export const otpView = (row: OtpRow, now: number): OtpView => ({
  id: row.id,
  status: otpStatus(row, now),
  serial: row.serial,
  note: row.note,
  createdAt: new Date(row.createdAt).toISOString(),
  expiresAt: new Date(row.expiresAt).toISOString(),
  usedAt: iso(row.usedAt),
  usedBy: row.usedBy,
  revokedAt: iso(row.revokedAt),
});

/** Creates an OTP and returns it once, with its audit row in the same batch; only the SHA-256 is stored. */
export async function createOtp(
  db: Database,
  input: { ttlSeconds: number; serial: string | null; note: string | null; orgId?: string | null },
  by: ProvActor,
  now = Date.now(),
): Promise<{ otp: string; row: OtpRow }> {
  const otp = randomToken(OTP_BYTES);
  const id = crypto.randomUUID();
  const [rows] = await db.batch([
    db
      .insert(otps)
      .values({ id, codeHash: await sha256Hex(otp), serial: input.serial, note: input.note, expiresAt: now + input.ttlSeconds * 1000, createdAt: now })
      .returning(),
    provAudit(db, by, 'otp.create', id, { ttlSeconds: input.ttlSeconds, serial: input.serial, ...(input.orgId ? { orgId: input.orgId } : {}) }),
    // The device this OTP enrols joins the organisation (workers/provisioning/store/enrolment.ts).
    ...(input.orgId ? [db.insert(otpOrgs).values({ otpId: id, orgId: input.orgId })] : []),
  ]);
  const [row] = rows;
  if (!row) throw new Error('insert returned no row');
  return { otp, row };
}

const STATUS_FILTER: Record<OtpStatus, (now: number) => SQL | undefined> = {
  used: () => isNotNull(otps.usedAt),
  revoked: () => and(isNull(otps.usedAt), isNotNull(otps.revokedAt)),
  expired: (now) => and(isNull(otps.usedAt), isNull(otps.revokedAt), lte(otps.expiresAt, now)),
  active: (now) => and(isNull(otps.usedAt), isNull(otps.revokedAt), gt(otps.expiresAt, now)),
};

/** Lists OTPs, newest first, optionally of one status. */
export async function listOtps(db: Database, opts: { status?: OtpStatus; limit: number }, now = Date.now()): Promise<OtpRow[]> {
  return db
    .select()
    .from(otps)
    .where(opts.status ? STATUS_FILTER[opts.status](now) : undefined)
    .orderBy(desc(otps.createdAt), desc(otps.id))
    .limit(opts.limit);
}

/** The row of a presented OTP, by its hash, or undefined. */
export async function findOtp(db: Database, otp: string): Promise<OtpRow | undefined> {
  return db.query.otps.findFirst({ where: eq(otps.codeHash, await sha256Hex(otp)) });
}

/**
 * Revokes an unused, unrevoked OTP with one conditional UPDATE, so a parallel enrolment either used it first or finds it
 * revoked; the audit row is written in the same batch only when the UPDATE changed something. Revoking twice is a no-op.
 */
export async function revokeOtp(db: Database, id: string, by: ProvActor, now = Date.now()): Promise<'revoked' | 'already_revoked' | 'used' | 'not_found'> {
  const [updated = []] = await atomically(db, [
    db
      .update(otps)
      .set({ revokedAt: now })
      .where(and(eq(otps.id, id), isNull(otps.usedAt), isNull(otps.revokedAt)))
      .returning({ id: otps.id }),
    provAuditIf(by, 'otp.revoke', id, {}, sql`EXISTS (SELECT 1 FROM otps WHERE id = ${id} AND revoked_at = ${now} AND used_at IS NULL)`, now),
  ]);
  if (updated.length > 0) return 'revoked';
  const row = await db.query.otps.findFirst({ where: eq(otps.id, id), columns: { usedAt: true } });
  if (!row) return 'not_found';
  return row.usedAt !== null ? 'used' : 'already_revoked';
}
