import { and, asc, eq, gt } from 'drizzle-orm';
import type { z } from 'zod';
import { Problem } from '../../lib/errors.ts';
import { orgClients, orgMembers, organisations } from '../../schema/index.ts';
import { auditEntry, type AdminActor } from '../auth/store/client-admin.ts';
import type { Database } from '../db.ts';
import type { OrgCaller } from './caller.ts';
import type { OrgRole } from './roles.ts';
import type { orgSchema } from './schemas.ts';

/** An organisation as the API shows it. */
export type OrgView = z.output<typeof orgSchema>;

/** An organisation row and the caller's role in it. */
export type OrgRow = { org: typeof organisations.$inferSelect; role: OrgRole };

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The API view of a row (without keys; the single-organisation read adds them). */
export const orgView = ({ org, role }: OrgRow): OrgView => ({
  id: org.id,
  name: org.name,
  role,
  settings: org.settings ?? null,
  createdAt: new Date(org.createdAt).toISOString(),
  updatedAt: iso(org.updatedAt),
});

/** Creates an organisation with the creator as its owner, and the audit row, in one batch. */
export async function createOrg(db: Database, input: { name: string; settings?: Record<string, unknown> | undefined }, by: AdminActor): Promise<OrgRow> {
  const id = crypto.randomUUID();
  const now = Date.now();
  const org = { id, name: input.name, settings: input.settings ?? null, createdBy: by.actor, createdAt: now, updatedAt: null };
  await db.batch([
    db.insert(organisations).values(org),
    db.insert(orgMembers).values({ orgId: id, userId: by.actor, role: 'owner', grantedBy: by.actor, createdAt: now }),
    auditEntry(db, by, 'org.create', id, { name: input.name }),
  ]);
  return { org, role: 'owner' };
}

const selectRows = (db: Database) => db.select({ org: organisations, role: orgMembers.role }).from(orgMembers).innerJoin(organisations, eq(organisations.id, orgMembers.orgId));

/** The organisations a user belongs to, by id, one page after the cursor. */
export async function listUserOrgs(db: Database, userId: string, page: { limit: number; after?: string | undefined }): Promise<{ rows: OrgRow[]; next: string | null }> {
  const rows = await selectRows(db)
    .where(and(eq(orgMembers.userId, userId), page.after ? gt(orgMembers.orgId, page.after) : undefined))
    .orderBy(asc(orgMembers.orgId))
    .limit(page.limit + 1);
  const shown = rows.slice(0, page.limit);
  return { rows: shown, next: rows.length > page.limit ? (shown.at(-1)?.org.id ?? null) : null };
}

/** The organisation and the user's role in it, or undefined when they are not a member. */
export async function findOrgMembership(db: Database, orgId: string, userId: string): Promise<OrgRow | undefined> {
  const [row] = await selectRows(db).where(and(eq(orgMembers.orgId, orgId), eq(orgMembers.userId, userId)));
  return row;
}

/** The organisation an app client is bound to and its role there, or undefined when it is not bound to `orgId`. */
export async function findOrgBinding(db: Database, orgId: string, clientId: string): Promise<OrgRow | undefined> {
  const [row] = await db
    .select({ org: organisations, role: orgClients.role })
    .from(orgClients)
    .innerJoin(organisations, eq(organisations.id, orgClients.orgId))
    .where(and(eq(orgClients.orgId, orgId), eq(orgClients.clientId, clientId)));
  return row;
}

/**
 * The caller's organisation and role, or 404: an organisation the caller is not in is not revealed to exist. A user
 * needs a membership; an app client needs its binding (`org_clients`) to this very organisation, read on every request.
 */
export async function requireOrg(db: Database, orgId: string, caller: OrgCaller): Promise<OrgRow> {
  const row = caller.kind === 'client' ? await findOrgBinding(db, orgId, caller.id) : await findOrgMembership(db, orgId, caller.id);
  if (!row) throw new Problem(404, 'Not Found', { detail: `You are not a member of an organisation ${orgId}.`, type: 'urn:gatehouse:problem:not-found' });
  return row;
}

/** Renames an organisation or replaces its settings, with the audit row. */
export async function updateOrg(db: Database, orgId: string, patch: { name?: string | undefined; settings?: Record<string, unknown> | undefined }, by: AdminActor): Promise<void> {
  const set: Partial<typeof organisations.$inferInsert> = { updatedAt: Date.now() };
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.settings !== undefined) set.settings = patch.settings;
  await db.batch([db.update(organisations).set(set).where(eq(organisations.id, orgId)), auditEntry(db, by, 'org.update', orgId, { fields: Object.keys(patch) })]);
}
