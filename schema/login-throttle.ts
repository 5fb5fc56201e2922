import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at } from './columns.ts';

/** Failed sign-ins per client IP in a sliding window, for the per-IP lock-out (per-account counts live on `users`). */
export const loginThrottle = sqliteTable('login_throttle', {
  /** `ip:<address>`. */
  key: text('key').primaryKey(),
  failures: integer('failures').notNull().default(0),
  windowStart: at('window_start').notNull(),
  lockedUntil: at('locked_until'),
});
