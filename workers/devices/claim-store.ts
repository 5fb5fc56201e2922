import { and, eq, gt, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { auditLog, claimCodes, deviceConnections, deviceEvents, deviceOrgs, devices, deviceUsers } from '../../schema/index.ts';
import type { Database } from '../db.ts';
import { claimCodeHash, generateClaimCode } from './claim-code.ts';

/**
 * Claim codes in D1 (`claim_codes`, SHA-256 only). A device holds at most one live code: issuing a new one deletes the
 * old unused ones (and expired ones). Consuming is one D1 batch, which D1 runs as a transaction: a conditional UPDATE …
 * RETURNING takes the code only while it is unused, unexpired and its device online and unclaimed, and the device's
 * status, its owner and its `claimed` event are written from that same row, so two claims of one code get one winner.
 */

/** Issues a fresh claim code for a device; the clear code goes to the device only, its hash to D1. */
export async function issueClaimCode(db: Database, deviceId: string, opts: { ttlSeconds: number; now?: number }): Promise<{ code: string; expiresAt: number }> {
  const now = opts.now ?? Date.now();
  const code = generateClaimCode();
  const codeHash = (await claimCodeHash(code)) as string;
  const expiresAt = now + opts.ttlSeconds * 1000;
  await db.batch([
    db.delete(claimCodes).where(and(eq(claimCodes.deviceId, deviceId), or(isNull(claimCodes.usedAt), lt(claimCodes.expiresAt, now)))),
    db.insert(claimCodes).values({ codeHash, deviceId, expiresAt, createdAt: now }),
  ]);
  return { code, expiresAt };
}

/**
 * Claims the device behind a code for `userId`; the device id, or null for any failure (which is not told apart).
 * With `orgId` the device also joins that organisation (the caller checked the membership), in the same batch; a device
 * already in another organisation cannot be claimed into this one (workers/orgs/device-store.ts).
 */
export async function consumeClaimCode(db: Database, input: { claimCode: string; userId: string; orgId?: string; requestId?: string; now?: number }): Promise<string | null> {
  const codeHash = await claimCodeHash(input.claimCode);
  if (codeHash === null) return null;
  const now = input.now ?? Date.now();
  const claimable = db
    .select({ id: devices.id })
    .from(devices)
    .innerJoin(deviceConnections, eq(deviceConnections.deviceId, devices.id))
    .where(
      and(
        eq(devices.status, 'unclaimed'),
        eq(deviceConnections.online, true),
        input.orgId ? sql`NOT EXISTS (SELECT 1 FROM device_orgs WHERE device_orgs.device_id = ${devices.id} AND device_orgs.org_id != ${input.orgId})` : undefined,
      ),
    );
  // The row this batch consumed: its hash, stamped with this batch's time (a code is consumed once, so nothing else matches).
  const consumed = and(eq(claimCodes.codeHash, codeHash), eq(claimCodes.usedAt, now));
  const detail = JSON.stringify({ by: input.userId, requestId: input.requestId ?? null });
  const [taken] = await db.batch([
    db
      .update(claimCodes)
      .set({ usedAt: now })
      .where(and(eq(claimCodes.codeHash, codeHash), isNull(claimCodes.usedAt), gt(claimCodes.expiresAt, now), inArray(claimCodes.deviceId, claimable)))
      .returning({ deviceId: claimCodes.deviceId }),
    db
      .update(devices)
      .set({ status: 'claimed', updatedAt: now })
      .where(and(eq(devices.status, 'unclaimed'), inArray(devices.id, db.select({ id: claimCodes.deviceId }).from(claimCodes).where(consumed)))),
    db
      .insert(deviceUsers)
      .select(
        db
          .select({
            deviceId: claimCodes.deviceId,
            userId: sql<string>`${input.userId}`.as('user_id'),
            role: sql<'owner'>`'owner'`.as('role'),
            grantedBy: sql<string>`${input.userId}`.as('granted_by'),
            createdAt: sql<number>`${now}`.as('created_at'),
          })
          .from(claimCodes)
          .where(consumed),
      )
      .onConflictDoUpdate({ target: [deviceUsers.deviceId, deviceUsers.userId], set: { role: 'owner' } }),
    db
      .insert(deviceEvents)
      .select(
        db
          .select({
            id: sql<number | null>`NULL`.as('id'),
            deviceId: claimCodes.deviceId,
            type: sql<'claimed'>`'claimed'`.as('type'),
            detail: sql<string>`${detail}`.as('detail'),
            createdAt: sql<number>`${now}`.as('created_at'),
          })
          .from(claimCodes)
          .where(consumed),
      ),
    ...(input.orgId ? claimIntoOrg(db, input.orgId, input.userId, input.requestId ?? null, consumed, now) : []),
  ]);
  return taken[0]?.deviceId ?? null;
}

/** The link of a claimed device to the organisation it was claimed into, and its audit row, both only when this batch consumed the code. */
function claimIntoOrg(db: Database, orgId: string, userId: string, requestId: string | null, consumed: SQL | undefined, now: number) {
  const linkedNow = sql`EXISTS (SELECT 1 FROM device_orgs WHERE device_id = ${claimCodes.deviceId} AND org_id = ${orgId} AND created_at = ${now} AND assigned_by = ${userId})`;
  return [
    db
      .insert(deviceOrgs)
      .select(
        db
          .select({
            deviceId: claimCodes.deviceId,
            orgId: sql<string>`${orgId}`.as('org_id'),
            assignedBy: sql<string>`${userId}`.as('assigned_by'),
            createdAt: sql<number>`${now}`.as('created_at'),
          })
          .from(claimCodes)
          .where(consumed),
      )
      .onConflictDoNothing(),
    db.insert(auditLog).select(
      db
        .select({
          id: sql<number | null>`NULL`.as('id'),
          actor: sql<string>`${userId}`.as('actor'),
          action: sql<string>`'org.device_assign'`.as('action'),
          target: sql<string>`${orgId}`.as('target'),
          detail: sql<string>`json_object('deviceId', ${claimCodes.deviceId}, 'via', 'claim')`.as('detail'),
          requestId: sql<string | null>`${requestId}`.as('request_id'),
          createdAt: sql<number>`${now}`.as('created_at'),
        })
        .from(claimCodes)
        .where(and(consumed, linkedNow)),
    ),
  ] as const;
}
