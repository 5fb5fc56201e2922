import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at, createdAt, json } from './columns.ts';
import { appClients } from './app-clients.ts';
import { users } from './users.ts';

/** Authorization codes (RFC 6749 §4.1.2): stored as SHA-256, single use, 5-minute lifetime. */
export const authCodes = sqliteTable(
  'auth_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    clientId: text('client_id')
      .notNull()
      .references(() => appClients.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    redirectUri: text('redirect_uri').notNull(),
    scopes: json<string[]>('scopes').notNull(),
    nonce: text('nonce'),
    codeChallenge: text('code_challenge'),
    codeChallengeMethod: text('code_challenge_method', { enum: ['S256', 'plain'] }),
    authTime: at('auth_time').notNull(),
    /** The refresh-token family minted from this code, revoked if the code is replayed (RFC 6749 §4.1.2). */
    familyId: text('family_id').notNull(),
    expiresAt: at('expires_at').notNull(),
    usedAt: at('used_at'),
    createdAt: createdAt(),
  },
  (t) => [index('auth_codes_expires_idx').on(t.expiresAt)],
);
