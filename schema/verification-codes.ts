import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at, createdAt } from './columns.ts';
import { users } from './users.ts';

/** Emailed codes that confirm a sign-up or authorise a password reset: one live code per user and purpose. */
export const verificationCodes = sqliteTable(
  'verification_codes',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose', { enum: ['signup', 'reset'] }).notNull(),
    codeHash: text('code_hash').notNull(),
    attempts: integer('attempts').notNull().default(0),
    expiresAt: at('expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.purpose] })],
);
