import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at, createdAt, json } from './columns.ts';

/** Device lifecycle: enrolled but not yet owned, owned by a user, or revoked. */
export const DEVICE_STATUSES = ['unclaimed', 'claimed', 'revoked'] as const;

/** Devices enrolled through EST; `id` is the UUID in the certificate's CN and SAN. */
export const devices = sqliteTable(
  'devices',
  {
    id: text('id').primaryKey(),
    /** The manufacturer serial the device enrolled with, if any. */
    serial: text('serial'),
    name: text('name'),
    status: text('status', { enum: DEVICE_STATUSES }).notNull().default('unclaimed'),
    /** Settings pushed to the device and served at the Device Gateway. */
    settings: json<Record<string, unknown>>('settings'),
    createdAt: createdAt(),
    updatedAt: at('updated_at'),
  },
  (t) => [index('devices_serial_idx').on(t.serial), index('devices_status_idx').on(t.status)],
);
