import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { createdAt } from './columns.ts';
import { devices } from './devices.ts';
import { organisations } from './organisations.ts';

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
