import { index, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at, createdAt, json } from './columns.ts';
import { users } from './users.ts';

/** Roles a user can hold in an organisation, strongest first. */
export const ORG_ROLES = ['owner', 'admin', 'member'] as const;

/** What an organisation key is for: encrypting device payloads (JWE) or signing records (JWS). */
export const ORG_KEY_USES = ['enc', 'sig'] as const;

/** A registered key is `active` (the one devices encrypt to / the one new records are signed with) or `retired` (history only). */
export const ORG_KEY_STATUSES = ['active', 'retired'] as const;

/** Organisations: the owners of an end-to-end encrypted log that their connector replicates and decrypts. */
export const organisations = sqliteTable('organisations', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** Settings served to the organisation's devices at `GET /device-api/v1/config`, under each device's own. */
  settings: json<Record<string, unknown>>('settings'),
  createdBy: text('created_by'),
  createdAt: createdAt(),
  updatedAt: at('updated_at'),
});

/** Who belongs to an organisation and with which role; exactly one `owner`, changed only by transfer. */
export const orgMembers = sqliteTable(
  'org_members',
  {
    orgId: text('org_id')
      .notNull()
      .references(() => organisations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ORG_ROLES }).notNull(),
    grantedBy: text('granted_by'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] }), index('org_members_user_idx').on(t.userId)],
);

/** The PUBLIC halves of an organisation's keys, by `kid`; never deleted, so old records stay verifiable. */
export const orgKeys = sqliteTable(
  'org_keys',
  {
    orgId: text('org_id')
      .notNull()
      .references(() => organisations.id, { onDelete: 'cascade' }),
    kid: text('kid').notNull(),
    use: text('use', { enum: ORG_KEY_USES }).notNull(),
    /** The public JWK as registered (no private members; checked on registration). */
    jwk: json<Record<string, unknown>>('jwk').notNull(),
    status: text('status', { enum: ORG_KEY_STATUSES }).notNull(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    retiredAt: at('retired_at'),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.kid] }), index('org_keys_use_idx').on(t.orgId, t.use, t.status)],
);
