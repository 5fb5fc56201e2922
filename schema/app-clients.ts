import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at, createdAt, json } from './columns.ts';

/** OAuth grant types a client may be allowed. */
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;

/** Registered OAuth/OIDC clients (Cognito app clients). */
export const appClients = sqliteTable('app_clients', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** SHA-256 of the client secret; null for public clients, which must use PKCE S256. */
  secretHash: text('secret_hash'),
  redirectUris: json<string[]>('redirect_uris').notNull(),
  logoutUris: json<string[]>('logout_uris').notNull(),
  allowedScopes: json<string[]>('allowed_scopes').notNull(),
  grantTypes: json<(typeof GRANT_TYPES)[number][]>('grant_types').notNull(),
  /** Allow PKCE `plain` (RFC 7636 §4.2); off unless an old client needs it. */
  allowPlainPkce: integer('allow_plain_pkce', { mode: 'boolean' }).notNull().default(false),
  idTokenTtl: integer('id_token_ttl').notNull().default(3600),
  accessTokenTtl: integer('access_token_ttl').notNull().default(3600),
  refreshTokenTtl: integer('refresh_token_ttl').notNull().default(30 * 24 * 3600),
  /** Seconds a rotated refresh token still works (Cognito's RetryGracePeriodSeconds, 0–60). */
  refreshGraceSeconds: integer('refresh_grace_seconds').notNull().default(0),
  createdAt: createdAt(),
  updatedAt: at('updated_at'),
});
