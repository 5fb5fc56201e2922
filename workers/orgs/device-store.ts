import { and, eq, sql } from 'drizzle-orm';
import { deviceOrgs, devices, orgMembers } from '../../schema/index.ts';
import type { DeviceRole } from '../api/device-roles.ts';
import type { AdminActor } from '../auth/store/client-admin.ts';
import type { Database } from '../db.ts';
import { atomically } from '../provisioning/store/batch.ts';
import { provAuditIf } from '../provisioning/store/audit.ts';
import { DEVICE_ROLE_FOR_ORG_ROLE, type OrgRole } from './roles.ts';

/** What `assignDeviceToOrg` did. */
export type AssignOutcome = 'assigned' | 'already_member' | 'in_other_org' | 'unknown_org' | 'unknown_device';

/**
 * Puts a device in an organisation, for enrolment with an OTP issued for it (actor `prov-admin`) and for a member
 * claiming a device into it (actor: the member's id; the caller checks the membership). A device belongs to at most
 * one organisation and this function never moves it: a device already in another one gives `in_other_org`.
 * The link and its `org.device_assign` audit row are one transaction; the audit row is written only when the link is.
 */
export async function assignDeviceToOrg(db: Database, deviceId: string, orgId: string, by: AdminActor): Promise<AssignOutcome> {
  const now = Date.now();
  const linked = sql`EXISTS (SELECT 1 FROM device_orgs WHERE device_id = ${deviceId} AND org_id = ${orgId} AND created_at = ${now} AND assigned_by IS ${by.actor})`;
  await atomically(db, [
    sql`INSERT INTO device_orgs (device_id, org_id, assigned_by, created_at)
      SELECT ${deviceId}, ${orgId}, ${by.actor}, ${now}
      WHERE EXISTS (SELECT 1 FROM devices WHERE id = ${deviceId}) AND EXISTS (SELECT 1 FROM organisations WHERE id = ${orgId})
      ON CONFLICT (device_id) DO NOTHING`,
    provAuditIf(by, 'org.device_assign', orgId, { deviceId }, sql`changes() = 1 AND ${linked}`, now),
  ]);
  const [row] = await db
    .select({ orgId: deviceOrgs.orgId, createdAt: deviceOrgs.createdAt, assignedBy: deviceOrgs.assignedBy })
    .from(deviceOrgs)
    .where(eq(deviceOrgs.deviceId, deviceId));
  if (row) {
    if (row.orgId !== orgId) return 'in_other_org';
    return row.createdAt === now && row.assignedBy === by.actor ? 'assigned' : 'already_member';
  }
  const device = await db.query.devices.findFirst({ where: eq(devices.id, deviceId), columns: { id: true } });
  return device ? 'unknown_org' : 'unknown_device';
}

/** The organisation a device belongs to, or null. */
export async function orgOfDevice(db: Database, deviceId: string): Promise<string | null> {
  const [row] = await db.select({ orgId: deviceOrgs.orgId }).from(deviceOrgs).where(eq(deviceOrgs.deviceId, deviceId));
  return row?.orgId ?? null;
}

/** The role a user holds on a device through its organisation (see DEVICE_ROLE_FOR_ORG_ROLE), or undefined. */
export async function orgRoleOnDevice(db: Database, deviceId: string, userId: string): Promise<{ orgId: string; orgRole: OrgRole; deviceRole: Exclude<DeviceRole, 'owner'> } | undefined> {
  const [row] = await db
    .select({ orgId: deviceOrgs.orgId, role: orgMembers.role })
    .from(deviceOrgs)
    .innerJoin(orgMembers, and(eq(orgMembers.orgId, deviceOrgs.orgId), eq(orgMembers.userId, userId)))
    .where(eq(deviceOrgs.deviceId, deviceId));
  return row ? { orgId: row.orgId, orgRole: row.role, deviceRole: DEVICE_ROLE_FOR_ORG_ROLE[row.role] } : undefined;
}
