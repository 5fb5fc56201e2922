import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at, createdAt, json } from './columns.ts';
import { appClients } from './app-clients.ts';
import { users } from './users.ts';

/** Refresh tokens: opaque, stored as SHA-256, rotated on use; a family shares one `family_id` for reuse detection. */
export const refreshTokens = sqliteTable(
  'refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    familyId: text('family_id').notNull(),
    clientId: text('client_id')
      .notNull()
      .references(() => appClients.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    scopes: json<string[]>('scopes').notNull(),
    authTime: at('auth_time').notNull(),
    /** `origin_jti` of the tokens first minted in this family. */
    originJti: text('origin_jti').notNull(),
    expiresAt: at('expires_at').notNull(),
    /** When this token was exchanged for its successor; reuse after the grace period revokes the family. */
    rotatedAt: at('rotated_at'),
    revokedAt: at('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('refresh_tokens_family_idx').on(t.familyId),
    index('refresh_tokens_user_idx').on(t.userId),
    index('refresh_tokens_expires_idx').on(t.expiresAt),
  ],
);
