import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at, createdAt } from './columns.ts';

/** One-time passcodes for EST enrolment: stored as SHA-256, single use, expiring. */
export const otps = sqliteTable(
  'otps',
  {
    /** A short public id for listing and revoking without the secret. */
    id: text('id').primaryKey(),
    codeHash: text('code_hash').notNull().unique(),
    /** When set, only a device enrolling with this serial may use the OTP. */
    serial: text('serial'),
    note: text('note'),
    expiresAt: at('expires_at').notNull(),
    usedAt: at('used_at'),
    /** The device the OTP enrolled. */
    usedBy: text('used_by'),
    revokedAt: at('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [index('otps_expires_idx').on(t.expiresAt)],
);
