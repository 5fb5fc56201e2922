import { and, asc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { appClients, orgClients, type ORG_CLIENT_ROLES } from '../../schema/index.ts';
import { auditEntry, deleteClient, registerClient, type AdminActor } from '../auth/store/client-admin.ts';
import type { Database } from '../db.ts';
import type { orgClientSchema } from './schemas.ts';

/** An organisation's app client as the API shows it. */
export type OrgClient = z.output<typeof orgClientSchema>;

type OrgClientRole = (typeof ORG_CLIENT_ROLES)[number];

/** The scope an organisation's client is allowed (plus any `API_REQUIRED_SCOPES`, without which its tokens would be refused). */
export const ORG_CLIENT_SCOPE = 'orgs';

const fields = { clientId: orgClients.clientId, name: appClients.name, role: orgClients.role, createdBy: orgClients.createdBy, createdAt: orgClients.createdAt };

const toClient = (row: { clientId: string; name: string; role: OrgClientRole; createdBy: string | null; createdAt: number }): OrgClient => ({
  ...row,
  createdAt: new Date(row.createdAt).toISOString(),
});

/**
 * Registers a confidential app client allowed only the client_credentials grant (workers/auth/store/client-admin.ts,
 * which stores the secret as SHA-256 and audits `client.create`) and binds it to the organisation, in one batch with
 * the organisation's `org.client_create` audit row. The secret is returned this once.
 */
export async function createOrgClient(
  db: Database,
  orgId: string,
  input: { name: string; role: OrgClientRole; scopes: string[] },
  by: AdminActor,
): Promise<{ client: OrgClient; secret: string }> {
  const createdAt = Date.now();
  const { client, secret } = await registerClient(db, { name: input.name, confidential: true, grantTypes: ['client_credentials'], allowedScopes: input.scopes }, by, null, (clientId) => [
    db.insert(orgClients).values({ clientId, orgId, role: input.role, createdBy: by.actor, createdAt }),
    auditEntry(db, by, 'org.client_create', orgId, { clientId, name: input.name, role: input.role }),
  ]);
  if (secret === null) throw new Error('a confidential client was registered without a secret');
  return { client: toClient({ clientId: client.id, name: client.name, role: input.role, createdBy: by.actor, createdAt }), secret };
}

/** The organisation's app clients, oldest first. */
export async function listOrgClients(db: Database, orgId: string): Promise<OrgClient[]> {
  const rows = await db.select(fields).from(orgClients).innerJoin(appClients, eq(appClients.id, orgClients.clientId)).where(eq(orgClients.orgId, orgId)).orderBy(asc(orgClients.createdAt), asc(orgClients.clientId));
  return rows.map(toClient);
}

/** One of the organisation's app clients, or undefined (also for a client bound elsewhere, or not bound at all). */
export async function findOrgClient(db: Database, orgId: string, clientId: string): Promise<OrgClient | undefined> {
  const [row] = await db
    .select(fields)
    .from(orgClients)
    .innerJoin(appClients, eq(appClients.id, orgClients.clientId))
    .where(and(eq(orgClients.orgId, orgId), eq(orgClients.clientId, clientId)));
  return row ? toClient(row) : undefined;
}

/** Deletes the app client (its binding goes with it), with the organisation's `org.client_delete` audit row. */
export async function deleteOrgClient(db: Database, orgId: string, clientId: string, by: AdminActor): Promise<void> {
  await deleteClient(db, clientId, by, Date.now(), [auditEntry(db, by, 'org.client_delete', orgId, { clientId })]);
}
