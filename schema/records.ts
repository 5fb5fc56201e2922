import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { at } from './columns.ts';
import { organisations } from './organisations.ts';

/** What appended a row: a device event (Device Gateway) or a record signed by the organisation (Records API). */
export const RECORD_KINDS = ['event', 'record'] as const;

/** How `payload` is held: a compact JWE the platform cannot decrypt, or JSON text (org-less device events, signed records). */
export const PAYLOAD_FORMATS = ['jwe', 'json'] as const;

/**
 * The append-only log. `seq` is one AUTOINCREMENT counter for the whole table: D1 runs one write transaction at a
 * time, so seq order is commit order and a cursor "after seq N" (per organisation, or per device for devices without
 * one) never skips a row committed later. Rows are never updated or deleted by the platform.
 */
export const records = sqliteTable(
  'records',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    /** The event id the device chose, or the signed record's id. */
    id: text('id').notNull(),
    kind: text('kind', { enum: RECORD_KINDS }).notNull(),
    /** Null for the events of a device that belongs to no organisation. */
    orgId: text('org_id').references(() => organisations.id),
    /** The device that sent the event; no foreign key, so the log outlives the device. */
    deviceId: text('device_id'),
    /** The user whose token appended a signed record. */
    userId: text('user_id'),
    type: text('type').notNull(),
    /** The RFC 3339 time the event or record claims, exactly as sent (it may be signed); order is `seq`, not this. */
    time: text('time').notNull(),
    payloadFormat: text('payload_format', { enum: PAYLOAD_FORMATS }).notNull(),
    payload: text('payload').notNull(),
    /** The `kid` of the organisation encryption key a JWE payload is addressed to. */
    encKid: text('enc_kid'),
    /** A signed record's detached compact JWS over its canonical form, and the signing key's `kid`. */
    signature: text('signature'),
    sigKid: text('sig_kid'),
    /** Payload size in bytes (UTF-8), for quotas and analytics without reading the payload. */
    size: integer('size').notNull(),
    receivedAt: at('received_at')
      .notNull()
      .$defaultFn(() => Date.now()),
  },
  (t) => [
    index('records_org_seq_idx').on(t.orgId, t.seq),
    index('records_device_seq_idx').on(t.deviceId, t.seq),
    uniqueIndex('records_device_event_uq').on(t.deviceId, t.id),
    uniqueIndex('records_org_record_uq').on(t.orgId, t.id).where(sql`kind = 'record'`),
  ],
);
