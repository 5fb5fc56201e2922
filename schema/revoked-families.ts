import { sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at, createdAt } from './columns.ts';

/**
 * Token families that were revoked (revoke, sign-out, refresh reuse, code replay). A family id is the `origin_jti` of
 * every token minted from one sign-in, so userinfo and the gateway can refuse access tokens of a revoked family.
 */
export const revokedFamilies = sqliteTable('revoked_families', {
  familyId: text('family_id').primaryKey(),
  reason: text('reason', { enum: ['revoked', 'signed_out', 'refresh_reuse', 'code_replay', 'user_disabled'] }).notNull(),
  /** After this, every token of the family has expired anyway and the row may be swept. */
  expiresAt: at('expires_at').notNull(),
  createdAt: createdAt(),
});
