import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at, createdAt } from './columns.ts';
import { users } from './users.ts';

/** Cognito API challenges (`PASSWORD_VERIFIER`, `NEW_PASSWORD_REQUIRED`) the client can still answer, once. */
export const COGNITO_CHALLENGES = ['PASSWORD_VERIFIER', 'NEW_PASSWORD_REQUIRED'] as const;

/**
 * Open Cognito API challenges. The challenge state itself travels encrypted in the client's `Session` / `SECRET_BLOCK`;
 * this row only makes it single-use (deleted when answered) and bounds its life.
 */
export const authChallenges = sqliteTable(
  'auth_challenges',
  {
    /** SHA-256 of the challenge's random id (carried inside the encrypted state). */
    idHash: text('id_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    clientId: text('client_id').notNull(),
    name: text('name', { enum: COGNITO_CHALLENGES }).notNull(),
    expiresAt: at('expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('auth_challenges_expires_idx').on(t.expiresAt)],
);
