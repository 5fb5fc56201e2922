import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at, createdAt } from './columns.ts';
import { users } from './users.ts';

/** Hosted-page sign-in sessions behind the signed session cookie; the id is stored as SHA-256. */
export const loginSessions = sqliteTable(
  'login_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    authTime: at('auth_time').notNull(),
    expiresAt: at('expires_at').notNull(),
    revokedAt: at('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [index('login_sessions_user_idx').on(t.userId), index('login_sessions_expires_idx').on(t.expiresAt)],
);
