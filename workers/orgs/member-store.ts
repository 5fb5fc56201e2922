import { and, asc, eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { orgMembers, users } from '../../schema/index.ts';
import { auditEntry, type AdminActor } from '../auth/store/client-admin.ts';
import type { Database } from '../db.ts';
import { atomically } from '../provisioning/store/batch.ts';
import type { OrgRole } from './roles.ts';
import type { orgMemberSchema } from './schemas.ts';

/** One member of an organisation, as the API shows them. */
export type OrgMember = z.output<typeof orgMemberSchema>;

const fields = {
  userId: orgMembers.userId,
  email: users.email,
  displayName: users.displayName,
  role: orgMembers.role,
  grantedBy: orgMembers.grantedBy,
  createdAt: orgMembers.createdAt,
};

const toMember = (row: { userId: string; email: string; displayName: string | null; role: OrgRole; grantedBy: string | null; createdAt: number }): OrgMember => ({
  userId: row.userId,
  email: row.email,
  displayName: row.displayName,
  role: row.role,
  grantedBy: row.grantedBy,
  grantedAt: new Date(row.createdAt).toISOString(),
});

const RANK_SQL = sql`CASE ${orgMembers.role} WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END`;

/** Every member, strongest role first, then by email. */
export async function listOrgMembers(db: Database, orgId: string): Promise<OrgMember[]> {
  const rows = await db.select(fields).from(orgMembers).innerJoin(users, eq(users.id, orgMembers.userId)).where(eq(orgMembers.orgId, orgId)).orderBy(RANK_SQL, asc(users.email));
  return rows.map(toMember);
}

/** One member, or undefined. */
export async function findOrgMember(db: Database, orgId: string, userId: string): Promise<OrgMember | undefined> {
  const [row] = await db.select(fields).from(orgMembers).innerJoin(users, eq(users.id, orgMembers.userId)).where(and(eq(orgMembers.orgId, orgId), eq(orgMembers.userId, userId)));
  return row ? toMember(row) : undefined;
}

/** Adds a member or changes a (non-owner) role, with the audit row. */
export async function setOrgMemberRole(db: Database, orgId: string, userId: string, role: Exclude<OrgRole, 'owner'>, by: AdminActor): Promise<void> {
  await db.batch([
    db
      .insert(orgMembers)
      .values({ orgId, userId, role, grantedBy: by.actor })
      .onConflictDoUpdate({ target: [orgMembers.orgId, orgMembers.userId], set: { role, grantedBy: by.actor } }),
    auditEntry(db, by, 'org.grant', orgId, { userId, role }),
  ]);
}

/**
 * Transfers ownership in one transaction: the owner becomes admin, then the target becomes owner only if no owner is
 * left at that point, so two transfers at once cannot leave two owners. Returns false when it lost that race.
 */
export async function transferOrgOwnership(db: Database, orgId: string, fromUserId: string, toUserId: string, by: AdminActor): Promise<boolean> {
  const now = Date.now();
  await atomically(db, [
    db.update(orgMembers).set({ role: 'admin' }).where(and(eq(orgMembers.orgId, orgId), eq(orgMembers.userId, fromUserId), eq(orgMembers.role, 'owner'))),
    sql`INSERT INTO org_members (org_id, user_id, role, granted_by, created_at)
      SELECT ${orgId}, ${toUserId}, 'owner', ${by.actor}, ${now}
      WHERE NOT EXISTS (SELECT 1 FROM org_members WHERE org_id = ${orgId} AND role = 'owner')
      ON CONFLICT (org_id, user_id) DO UPDATE SET role = 'owner', granted_by = excluded.granted_by`,
    auditEntry(db, by, 'org.transfer', orgId, { from: fromUserId, to: toUserId }),
  ]);
  return (await findOrgMember(db, orgId, toUserId))?.role === 'owner';
}

/** Removes a member, with the audit row. */
export async function removeOrgMember(db: Database, orgId: string, userId: string, by: AdminActor): Promise<void> {
  await db.batch([db.delete(orgMembers).where(and(eq(orgMembers.orgId, orgId), eq(orgMembers.userId, userId))), auditEntry(db, by, 'org.remove_member', orgId, { userId })]);
}
