import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at, createdAt, json } from './columns.ts';
import { devices } from './devices.ts';

/** The live connection state of each device, written by its DeviceTunnel so that lists need not wake every object. */
export const deviceConnections = sqliteTable(
  'device_connections',
  {
    deviceId: text('device_id')
      .primaryKey()
      .references(() => devices.id, { onDelete: 'cascade' }),
    online: integer('online', { mode: 'boolean' }).notNull().default(false),
    /** When the current state (online or offline) began. */
    since: at('since').notNull(),
    lastSeen: at('last_seen'),
    agentVersion: text('agent_version'),
    remoteAddr: text('remote_addr'),
  },
  (t) => [index('device_connections_online_idx').on(t.online)],
);

/** Kinds of device history entries. */
export const DEVICE_EVENT_TYPES = ['connected', 'disconnected', 'replaced', 'enrolled', 'reenrolled', 'claimed', 'revoked'] as const;

/** Append-only history of each device's connections and lifecycle (what Redis pub/sub carried before). */
export const deviceEvents = sqliteTable(
  'device_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    deviceId: text('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    type: text('type', { enum: DEVICE_EVENT_TYPES }).notNull(),
    detail: json<Record<string, unknown>>('detail'),
    createdAt: createdAt(),
  },
  (t) => [index('device_events_device_time_idx').on(t.deviceId, t.createdAt)],
);
