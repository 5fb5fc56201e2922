import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at, createdAt } from './columns.ts';

/** Where a federated sign-in began: `/oauth2/authorize?identity_provider=…`, or a button on the hosted sign-in page. */
export const FEDERATION_ORIGINS = ['authorize', 'login'] as const;

/**
 * Sign-ins sent to an upstream identity provider and not yet back: one row per `state`, deleted when the callback
 * uses it (single use) and unusable after `expires_at`. The nonce and PKCE verifier are not stored: they are derived
 * from the state with a key only the Worker holds (see workers/auth/federation/flow-secrets.ts).
 */
export const federationStates = sqliteTable(
  'federation_states',
  {
    /** SHA-256 (hex) of the `state` sent upstream; the state itself is never stored. */
    stateHash: text('state_hash').primaryKey(),
    /** The configured provider name, e.g. `azuread`. */
    provider: text('provider').notNull(),
    /** SHA-256 (hex) of the browser-binding cookie that started the flow (login CSRF defence, RFC 9700 §4.7.1). */
    browserHash: text('browser_hash').notNull(),
    origin: text('origin', { enum: FEDERATION_ORIGINS }).notNull(),
    /** The sealed authorize request to complete afterwards; null for a sign-in started on /login without an app. */
    request: text('request'),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
  },
  (t) => [index('federation_states_expires_idx').on(t.expiresAt)],
);
