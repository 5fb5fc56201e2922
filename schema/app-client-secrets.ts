import { sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at } from './columns.ts';
import { appClients } from './app-clients.ts';

/**
 * A confidential client's secret, recoverable, for checking Cognito's SECRET_HASH = HMAC(secret, username + clientId),
 * which the SHA-256 in `app_clients.secret_hash` cannot do. Kept only as a Fernet token; used only while its SHA-256
 * still equals `app_clients.secret_hash`, so a rotated secret never leaves a stale key working.
 */
export const appClientSecrets = sqliteTable('app_client_secrets', {
  clientId: text('client_id')
    .primaryKey()
    .references(() => appClients.id, { onDelete: 'cascade' }),
  /** Fernet token (CLAIMS_FERNET_KEYS) of the client secret. */
  ciphertext: text('ciphertext').notNull(),
  updatedAt: at('updated_at').notNull(),
});
