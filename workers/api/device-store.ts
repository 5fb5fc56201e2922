import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { Problem } from '../../lib/errors.ts';
import { deviceConnections, deviceOrgs, devices, deviceUsers, orgMembers } from '../../schema/index.ts';
import { auditEntry, type AdminActor } from '../auth/store/client-admin.ts';
import type { User } from '../auth/store/users.ts';
import type { Database } from '../db.ts';
import { effectiveDeviceRole, type OrgRole } from '../orgs/roles.ts';
import { revokeCertificates } from '../provisioning/store/certificates.ts';
import { atLeast, type DeviceRole } from './device-roles.ts';
import type { deviceSchema } from './schemas.ts';

/** A device as the API shows it. */
export type DeviceView = z.output<typeof deviceSchema>;

/** A device row joined with the caller's role and its connection state. */
export type DeviceRow = { device: typeof devices.$inferSelect; role: DeviceRole; connection: typeof deviceConnections.$inferSelect | null };

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** The API view of a row; settings only for operators and above (viewers see status only). */
export function deviceView(row: DeviceRow): DeviceView {
  const { device, role, connection } = row;
  return {
    id: device.id,
    name: device.name,
    serial: device.serial,
    status: device.status,
    role,
    connection: { online: connection?.online ?? false, since: iso(connection?.since), lastSeen: iso(connection?.lastSeen), agentVersion: connection?.agentVersion ?? null },
    ...(atLeast(role, 'operator') ? { settings: device.settings ?? null } : {}),
    createdAt: new Date(device.createdAt).toISOString(),
  };
}

/**
 * The devices a user sees: those shared with them (`device_users`) and those of the organisations they belong to, with
 * the stronger of the direct role and the one their organisation role maps to (workers/orgs/roles.ts).
 */
const selectRows = (db: Database, userId: string) =>
  db
    .select({ device: devices, direct: deviceUsers.role, orgRole: orgMembers.role, connection: deviceConnections })
    .from(devices)
    .leftJoin(deviceUsers, and(eq(deviceUsers.deviceId, devices.id), eq(deviceUsers.userId, userId)))
    .leftJoin(deviceOrgs, eq(deviceOrgs.deviceId, devices.id))
    .leftJoin(orgMembers, and(eq(orgMembers.orgId, deviceOrgs.orgId), eq(orgMembers.userId, userId)))
    .leftJoin(deviceConnections, eq(deviceConnections.deviceId, devices.id));

type JoinedRow = Omit<DeviceRow, 'role'> & { direct: DeviceRole | null; orgRole: OrgRole | null };
const withRole = (rows: JoinedRow[]): DeviceRow[] =>
  rows.flatMap(({ device, direct, orgRole, connection }) => {
    const role = effectiveDeviceRole(direct ?? undefined, orgRole ?? undefined);
    return role ? [{ device, role, connection }] : [];
  });

// Index-driven: the ids come from device_users (by user) and org_members → device_orgs (by user, then by org).
const visibleIds = (userId: string) =>
  sql`(SELECT device_id FROM device_users WHERE user_id = ${userId}
    UNION SELECT device_orgs.device_id FROM org_members JOIN device_orgs ON device_orgs.org_id = org_members.org_id WHERE org_members.user_id = ${userId})`;

/** The devices a user holds a role on, by device id, one page after the cursor (one query, connection state included). */
export async function listUserDevices(db: Database, userId: string, page: { limit: number; after?: string | undefined }): Promise<{ rows: DeviceRow[]; next: string | null }> {
  const rows = await selectRows(db, userId)
    .where(and(sql`${devices.id} IN ${visibleIds(userId)}`, page.after ? gt(devices.id, page.after) : undefined))
    .orderBy(asc(devices.id))
    .limit(page.limit + 1);
  const more = rows.length > page.limit;
  const shown = withRole(rows.slice(0, page.limit));
  return { rows: shown, next: more ? (shown.at(-1)?.device.id ?? null) : null };
}

/** The device and the user's role on it, or undefined when the user has none (the API then answers 404). */
export async function findMembership(db: Database, deviceId: string, userId: string): Promise<DeviceRow | undefined> {
  return withRole(await selectRows(db, userId).where(eq(devices.id, deviceId)))[0];
}

/** Renames a device or replaces its settings, with its audit row. */
export async function updateDevice(db: Database, deviceId: string, patch: { name?: string | undefined; settings?: Record<string, unknown> | undefined }, by: AdminActor): Promise<void> {
  const set: Partial<typeof devices.$inferInsert> = { updatedAt: Date.now() };
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.settings !== undefined) set.settings = patch.settings;
  await db.batch([
    db.update(devices).set(set).where(eq(devices.id, deviceId)),
    auditEntry(db, by, 'device.update', deviceId, { fields: Object.keys(patch).filter((k) => k !== 'settings' || patch.settings !== undefined) }),
  ]);
}

/**
 * Deletes a device for its owner: revokes every active certificate (reason cessationOfOperation, so the CRL lists them
 * and the device can no longer connect; the device becomes `revoked`), then removes every user's role on it.
 */
export async function releaseDevice(db: Database, deviceId: string, by: AdminActor): Promise<{ revokedSerials: string[] }> {
  const revokedSerials = await revokeCertificates(db, { deviceId, reason: 'cessationOfOperation' }, by);
  await db.batch([db.delete(deviceUsers).where(eq(deviceUsers.deviceId, deviceId)), auditEntry(db, by, 'device.release', deviceId, { revokedSerials })]);
  return { revokedSerials };
}

/** The caller's device and role, or 404: a device the caller holds no role on is not revealed to exist. */
export async function requireDevice(db: Database, deviceId: string, user: User): Promise<DeviceRow> {
  const row = await findMembership(db, deviceId, user.id);
  if (!row) throw new Problem(404, 'Not Found', { detail: `No device ${deviceId} is shared with you.`, type: 'urn:gatehouse:problem:not-found' });
  return row;
}
