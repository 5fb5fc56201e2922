import { and, asc, eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { deviceUsers, users } from '../../schema/index.ts';
import { auditEntry, type AdminActor } from '../auth/store/client-admin.ts';
import type { Database } from '../db.ts';
import { atomically } from '../provisioning/store/batch.ts';
import type { DeviceRole } from './device-roles.ts';
import type { memberSchema } from './schemas.ts';

/** One user's role on a device, as the API shows it. */
export type Member = z.output<typeof memberSchema>;

const memberFields = {
  userId: deviceUsers.userId,
  email: users.email,
  displayName: users.displayName,
  role: deviceUsers.role,
  grantedBy: deviceUsers.grantedBy,
  createdAt: deviceUsers.createdAt,
};

const toMember = (row: { userId: string; email: string; displayName: string | null; role: DeviceRole; grantedBy: string | null; createdAt: number }): Member => ({
  userId: row.userId,
  email: row.email,
  displayName: row.displayName,
  role: row.role,
  grantedBy: row.grantedBy,
  grantedAt: new Date(row.createdAt).toISOString(),
});

const RANK_SQL = sql`CASE ${deviceUsers.role} WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'operator' THEN 2 ELSE 3 END`;

/** Everyone with a role on a device, strongest role first, then by email. */
export async function listMembers(db: Database, deviceId: string): Promise<Member[]> {
  const rows = await db
    .select(memberFields)
    .from(deviceUsers)
    .innerJoin(users, eq(users.id, deviceUsers.userId))
    .where(eq(deviceUsers.deviceId, deviceId))
    .orderBy(RANK_SQL, asc(users.email));
  return rows.map(toMember);
}

/** One user's role on a device, or undefined. */
export async function findMember(db: Database, deviceId: string, userId: string): Promise<Member | undefined> {
  const [row] = await db
    .select(memberFields)
    .from(deviceUsers)
    .innerJoin(users, eq(users.id, deviceUsers.userId))
    .where(and(eq(deviceUsers.deviceId, deviceId), eq(deviceUsers.userId, userId)));
  return row ? toMember(row) : undefined;
}

/** Grants or changes a (non-owner) role, with its audit row. */
export async function setMemberRole(db: Database, deviceId: string, userId: string, role: Exclude<DeviceRole, 'owner'>, by: AdminActor): Promise<void> {
  await db.batch([
    db
      .insert(deviceUsers)
      .values({ deviceId, userId, role, grantedBy: by.actor })
      .onConflictDoUpdate({ target: [deviceUsers.deviceId, deviceUsers.userId], set: { role, grantedBy: by.actor } }),
    auditEntry(db, by, 'device.grant', deviceId, { userId, role }),
  ]);
}

/**
 * Transfers ownership in one transaction: the owner becomes admin, then the target becomes owner only if the device has
 * no owner left at that point, so two transfers at once cannot leave two owners. Returns false when it lost that race.
 */
export async function transferOwnership(db: Database, deviceId: string, fromUserId: string, toUserId: string, by: AdminActor): Promise<boolean> {
  const now = Date.now();
  await atomically(db, [
    db.update(deviceUsers).set({ role: 'admin' }).where(and(eq(deviceUsers.deviceId, deviceId), eq(deviceUsers.userId, fromUserId), eq(deviceUsers.role, 'owner'))),
    sql`INSERT INTO device_users (device_id, user_id, role, granted_by, created_at)
      SELECT ${deviceId}, ${toUserId}, 'owner', ${by.actor}, ${now}
      WHERE NOT EXISTS (SELECT 1 FROM device_users WHERE device_id = ${deviceId} AND role = 'owner')
      ON CONFLICT (device_id, user_id) DO UPDATE SET role = 'owner', granted_by = excluded.granted_by`,
    auditEntry(db, by, 'device.transfer', deviceId, { from: fromUserId, to: toUserId }),
  ]);
  return (await findMember(db, deviceId, toUserId))?.role === 'owner';
}

/** Removes a user's role on a device, with its audit row; new authorizations for them fail from now on. */
export async function removeMember(db: Database, deviceId: string, userId: string, by: AdminActor): Promise<void> {
  await db.batch([
    db.delete(deviceUsers).where(and(eq(deviceUsers.deviceId, deviceId), eq(deviceUsers.userId, userId))),
    auditEntry(db, by, 'device.revoke_user', deviceId, { userId }),
  ]);
}
