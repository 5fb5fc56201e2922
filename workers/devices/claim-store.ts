import { and, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { claimCodes, deviceConnections, deviceEvents, devices, deviceUsers } from '../../schema/index.ts';
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

/** Claims the device behind a code for `userId`; the device id, or null for any failure (which is not told apart). */
export async function consumeClaimCode(db: Database, input: { claimCode: string; userId: string; requestId?: string; now?: number }): Promise<string | null> {
  const codeHash = await claimCodeHash(input.claimCode);
  if (codeHash === null) return null;
  const now = input.now ?? Date.now();
  const claimable = db
    .select({ id: devices.id })
    .from(devices)
    .innerJoin(deviceConnections, eq(deviceConnections.deviceId, devices.id))
    .where(and(eq(devices.status, 'unclaimed'), eq(deviceConnections.online, true)));
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
  ]);
  return taken[0]?.deviceId ?? null;
}
