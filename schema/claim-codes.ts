import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at, createdAt } from './columns.ts';
import { devices } from './devices.ts';

/** Codes a device shows so that a user can claim it: stored as SHA-256, expiring, single use. */
export const claimCodes = sqliteTable(
  'claim_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    deviceId: text('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    expiresAt: at('expires_at').notNull(),
    usedAt: at('used_at'),
    createdAt: createdAt(),
  },
  (t) => [index('claim_codes_device_idx').on(t.deviceId), index('claim_codes_expires_idx').on(t.expiresAt)],
);
