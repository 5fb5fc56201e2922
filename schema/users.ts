import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { at, createdAt, json } from './columns.ts';

/** Cognito's user statuses, which the hosted pages and the Cognito API report. */
export const USER_STATUSES = ['UNCONFIRMED', 'CONFIRMED', 'FORCE_CHANGE_PASSWORD', 'RESET_REQUIRED', 'EXTERNAL_PROVIDER'] as const;

/** People who sign in. `id` is the OIDC `sub` (a UUID, or the old Cognito UUID after an import). */
export const users = sqliteTable(
  'users',
  {
    id: text('id').primaryKey(),
    /** The lower-cased email, which is the username (`cognito:username`). */
    username: text('username').notNull(),
    email: text('email').notNull(),
    emailVerified: integer('email_verified', { mode: 'boolean' }).notNull().default(false),
    /** `pbkdf2-sha256$<iterations>$<salt>$<hash>`; null for federated-only users and imported users awaiting a reset. */
    passwordHash: text('password_hash'),
    status: text('status', { enum: USER_STATUSES }).notNull().default('UNCONFIRMED'),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    displayName: text('display_name'),
    /** Other standard and custom attributes (`name`, `custom:*`, …), as Cognito keeps them. */
    attributes: json<Record<string, string>>('attributes').notNull().default(sql`'{}'`),
    failedLogins: integer('failed_logins').notNull().default(0),
    lockedUntil: at('locked_until'),
    createdAt: createdAt(),
    updatedAt: at('updated_at'),
  },
  (t) => [uniqueIndex('users_username_uq').on(t.username), index('users_email_idx').on(t.email)],
);
