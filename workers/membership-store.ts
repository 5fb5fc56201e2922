import { sql, type SQL } from 'drizzle-orm';
import { auditEntry, type AdminActor } from './auth/store/client-admin.ts';
import type { Database } from './db.ts';
import { atomically, type RawRow } from './provisioning/store/batch.ts';

/**
 * Role memberships, one store for both kinds: users' roles on a device (`device_users`) and organisation members
 * (`org_members`). Both tables hold one row per (scope, user) with a role, who granted it and when; what differs is the
 * table, its scope column, the order of the roles and the audit actions, which `MembershipKind` names.
 */

/** One user's role in a scope, as the API shows it. */
export type Membership<Role extends string> = { userId: string; email: string; displayName: string | null; role: Role; grantedBy: string | null; grantedAt: string };

/** Where one kind of membership lives, and how its changes are audited. */
export interface MembershipKind<Role extends string> {
  readonly table: 'device_users' | 'org_members';
  /** The column naming the device or organisation. */
  readonly scope: 'device_id' | 'org_id';
  /** The roles, strongest first: lists are ordered by them, then by email. */
  readonly roles: readonly Role[];
  /** The audit actions of a grant, an ownership transfer and a removal. */
  readonly audit: { readonly grant: string; readonly transfer: string; readonly remove: string };
}

/** The store of one kind of membership. */
export function membershipStore<Role extends string>(kind: MembershipKind<Role>) {
  const table = sql.identifier(kind.table);
  const scope = sql.identifier(kind.scope);
  const rank = sql.join([sql`CASE m.role`, ...kind.roles.map((role, i) => sql`WHEN ${role} THEN ${i}`), sql`ELSE ${kind.roles.length} END`], sql` `);

  const toMembership = (row: RawRow): Membership<Role> => ({
    userId: row.userId as string,
    email: row.email as string,
    displayName: (row.displayName as string | null) ?? null,
    role: row.role as Role,
    grantedBy: (row.grantedBy as string | null) ?? null,
    grantedAt: new Date(row.createdAt as number).toISOString(),
  });

  async function select(db: Database, where: SQL, order: SQL = sql``): Promise<Membership<Role>[]> {
    const [rows = []] = await atomically(db, [
      sql`SELECT m.user_id AS userId, u.email AS email, u.display_name AS displayName, m.role AS role, m.granted_by AS grantedBy, m.created_at AS createdAt
        FROM ${table} m JOIN users u ON u.id = m.user_id WHERE ${where} ${order}`,
    ]);
    return rows.map(toMembership);
  }

  /** One user's role in a scope, or undefined. */
  const find = async (db: Database, scopeId: string, userId: string): Promise<Membership<Role> | undefined> =>
    (await select(db, sql`m.${scope} = ${scopeId} AND m.user_id = ${userId}`))[0];

  return {
    /** Everyone with a role in a scope, strongest role first, then by email. */
    list: (db: Database, scopeId: string): Promise<Membership<Role>[]> => select(db, sql`m.${scope} = ${scopeId}`, sql`ORDER BY ${rank}, u.email`),
    find,
    /** Grants or changes a (non-owner) role, with its audit row. */
    async setRole(db: Database, scopeId: string, userId: string, role: Exclude<Role, 'owner'>, by: AdminActor): Promise<void> {
      await atomically(db, [
        sql`INSERT INTO ${table} (${scope}, user_id, role, granted_by, created_at) VALUES (${scopeId}, ${userId}, ${role}, ${by.actor}, ${Date.now()})
          ON CONFLICT (${scope}, user_id) DO UPDATE SET role = excluded.role, granted_by = excluded.granted_by`,
        auditEntry(db, by, kind.audit.grant, scopeId, { userId, role }),
      ]);
    },
    /**
     * Transfers ownership in one transaction: the owner becomes admin, then the target becomes owner only if the scope
     * has no owner left at that point, so two transfers at once cannot leave two owners. False when it lost that race.
     */
    async transferOwnership(db: Database, scopeId: string, fromUserId: string, toUserId: string, by: AdminActor): Promise<boolean> {
      await atomically(db, [
        sql`UPDATE ${table} SET role = 'admin' WHERE ${scope} = ${scopeId} AND user_id = ${fromUserId} AND role = 'owner'`,
        sql`INSERT INTO ${table} (${scope}, user_id, role, granted_by, created_at)
          SELECT ${scopeId}, ${toUserId}, 'owner', ${by.actor}, ${Date.now()}
          WHERE NOT EXISTS (SELECT 1 FROM ${table} WHERE ${scope} = ${scopeId} AND role = 'owner')
          ON CONFLICT (${scope}, user_id) DO UPDATE SET role = 'owner', granted_by = excluded.granted_by`,
        auditEntry(db, by, kind.audit.transfer, scopeId, { from: fromUserId, to: toUserId }),
      ]);
      return (await find(db, scopeId, toUserId))?.role === 'owner';
    },
    /** Removes a user's role in a scope, with its audit row. */
    async remove(db: Database, scopeId: string, userId: string, by: AdminActor): Promise<void> {
      await atomically(db, [sql`DELETE FROM ${table} WHERE ${scope} = ${scopeId} AND user_id = ${userId}`, auditEntry(db, by, kind.audit.remove, scopeId, { userId })]);
    },
  };
}
