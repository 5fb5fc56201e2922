import { sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at } from './columns.ts';
import { users } from './users.ts';

/** Each user's Hasura claims as a Fernet token (never in clear), read by the pre-token step. */
export const userClaims = sqliteTable('user_claims', {
  userId: text('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  /** Fernet token of the claims JSON under the first key of CLAIMS_FERNET_KEYS. */
  ciphertext: text('ciphertext').notNull(),
  updatedAt: at('updated_at').notNull(),
});
