import { index, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { at, createdAt } from './columns.ts';
import { devices } from './devices.ts';

/** Certificates issued to devices by the private CA; the tunnel and Device Gateway accept only `active` ones. */
export const deviceCertificates = sqliteTable(
  'device_certificates',
  {
    /** Hex serial number (128 random bits). */
    serial: text('serial').primaryKey(),
    deviceId: text('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    /** SHA-256 of the DER certificate, hex: what Cloudflare mTLS reports. */
    fingerprint: text('fingerprint').notNull(),
    notBefore: at('not_before').notNull(),
    notAfter: at('not_after').notNull(),
    status: text('status', { enum: ['active', 'revoked'] }).notNull().default('active'),
    revokedAt: at('revoked_at'),
    /** RFC 5280 §5.3.1 reason code name. */
    revocationReason: text('revocation_reason'),
    pem: text('pem').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('device_certificates_fingerprint_uq').on(t.fingerprint),
    index('device_certificates_device_idx').on(t.deviceId),
    index('device_certificates_status_idx').on(t.status),
  ],
);
