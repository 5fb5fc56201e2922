import { index, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { createdAt } from './columns.ts';
import { devices } from './devices.ts';
import { users } from './users.ts';

/** Roles a user can hold on a device, strongest first. */
export const DEVICE_ROLES = ['owner', 'admin', 'operator', 'viewer'] as const;

/** Who may do what with a device: one row per user per device. */
export const deviceUsers = sqliteTable(
  'device_users',
  {
    deviceId: text('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: DEVICE_ROLES }).notNull(),
    grantedBy: text('granted_by'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.userId] }), index('device_users_user_idx').on(t.userId)],
);
