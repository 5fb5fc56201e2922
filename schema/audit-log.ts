import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { createdAt, json } from './columns.ts';

/** Who did what to whom: one row per administrative change, kept after the target is deleted. */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** A user id, `admin-cli`, `prov-admin`, `client:<id>` (an organisation's bound app client) or `system`. */
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    target: text('target'),
    detail: json<Record<string, unknown>>('detail'),
    requestId: text('request_id'),
    createdAt: createdAt(),
  },
  (t) => [index('audit_log_target_idx').on(t.target), index('audit_log_time_idx').on(t.createdAt)],
);
