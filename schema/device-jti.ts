import { index, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at } from './columns.ts';
import { devices } from './devices.ts';

/** The `jti` of every device-signed JWT already accepted, kept until the JWT expires, so none is accepted twice (RFC 7519 §4.1.7). */
export const deviceJti = sqliteTable(
  'device_jti',
  {
    deviceId: text('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    jti: text('jti').notNull(),
    /** When the JWT stops being acceptable anyway (its `exp` plus the clock tolerance): the row may go then. */
    expiresAt: at('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.jti] }), index('device_jti_expires_idx').on(t.expiresAt)],
);
