import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { appClients } from './app-clients.ts';
import { createdAt } from './columns.ts';
import { organisations } from './organisations.ts';

/** Roles an app client can be bound with: never `owner`, which only a person holds. */
export const ORG_CLIENT_ROLES = ['admin', 'member'] as const;

/**
 * App clients bound to one organisation (a connector's service identity): a client_credentials token of the client
 * acts in that organisation, and only there, with this role. Deleting the client or the organisation removes the binding.
 */
export const orgClients = sqliteTable(
  'org_clients',
  {
    clientId: text('client_id')
      .primaryKey()
      .references(() => appClients.id, { onDelete: 'cascade' }),
    orgId: text('org_id')
      .notNull()
      .references(() => organisations.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ORG_CLIENT_ROLES }).notNull(),
    /** The user who created the client. */
    createdBy: text('created_by'),
    createdAt: createdAt(),
  },
  (t) => [index('org_clients_org_idx').on(t.orgId)],
);
