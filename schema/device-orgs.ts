import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { createdAt } from './columns.ts';
import { devices } from './devices.ts';
import { organisations } from './organisations.ts';
import { otps } from './otps.ts';

/** Which organisation a device belongs to: at most one (the primary key), set at enrolment or claim and not moved after. */
export const deviceOrgs = sqliteTable(
  'device_orgs',
  {
    deviceId: text('device_id')
      .primaryKey()
      .references(() => devices.id, { onDelete: 'cascade' }),
    orgId: text('org_id')
      .notNull()
      .references(() => organisations.id),
    /** `prov-admin` (an OTP issued for the organisation) or the id of the member who claimed the device into it. */
    assignedBy: text('assigned_by'),
    createdAt: createdAt(),
  },
  (t) => [index('device_orgs_org_idx').on(t.orgId)],
);

/**
 * The organisation an enrolment OTP was issued for (`POST /admin/api/otp {orgId}`): the device that OTP enrols joins
 * that organisation in the same transaction. Kept beside `otps` (and deleted with it) rather than in it, so the OTP table
 * stays the provisioning module's own.
 */
export const otpOrgs = sqliteTable('otp_orgs', {
  otpId: text('otp_id')
    .primaryKey()
    .references(() => otps.id, { onDelete: 'cascade' }),
  orgId: text('org_id')
    .notNull()
    .references(() => organisations.id, { onDelete: 'cascade' }),
});
