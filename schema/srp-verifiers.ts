import { sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at } from './columns.ts';
import { users } from './users.ts';

/**
 * Each user's SRP password verifier (Cognito's USER_SRP_AUTH), written whenever a password is set. The salt and
 * verifier are password-equivalent for offline guessing at SHA-256 speed, so they are stored only as a Fernet token.
 */
export const srpVerifiers = sqliteTable('srp_verifiers', {
  userId: text('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  /** The name the verifier was computed for, returned as `USER_ID_FOR_SRP` (the username when the password was set). */
  srpUsername: text('srp_username').notNull(),
  /** The pool name (part of USER_POOL_ID after `_`) hashed into the verifier; another pool id makes it stale. */
  poolName: text('pool_name').notNull(),
  /** SHA-256 of `users.password_hash` when the verifier was made: a password changed by a path that stored no verifier makes it stale. */
  passwordTag: text('password_tag').notNull(),
  /** Fernet token (CLAIMS_FERNET_KEYS) of `{"salt":"<hex>","verifier":"<hex>"}`. */
  ciphertext: text('ciphertext').notNull(),
  updatedAt: at('updated_at').notNull(),
});
