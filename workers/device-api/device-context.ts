import { and, eq } from 'drizzle-orm';
import { deviceOrgs, devices, orgKeys, organisations } from '../../schema/index.ts';
import type { Database } from '../db.ts';

/** What the Device Gateway needs to know about a device: its settings, its organisation, and that organisation's keys. */
export type DeviceContext = {
  deviceId: string;
  settings: Record<string, unknown>;
  orgId: string | null;
  /** Every encryption key of the organisation (active first), since a device may still hold the previous config. */
  encryptionKeys: { kid: string; jwk: Record<string, unknown>; active: boolean }[];
};

/**
 * Reads a device's context in one query: the device, its organisation link and settings, and the organisation's
 * encryption keys (LEFT JOINs, so a device without an organisation or keys still gets one row). Settings are the
 * organisation's, overridden by the device's own.
 */
export async function deviceContext(db: Database, deviceId: string): Promise<DeviceContext> {
  const rows = await db
    .select({ device: devices.settings, orgId: deviceOrgs.orgId, org: organisations.settings, kid: orgKeys.kid, jwk: orgKeys.jwk, status: orgKeys.status })
    .from(devices)
    .leftJoin(deviceOrgs, eq(deviceOrgs.deviceId, devices.id))
    .leftJoin(organisations, eq(organisations.id, deviceOrgs.orgId))
    .leftJoin(orgKeys, and(eq(orgKeys.orgId, deviceOrgs.orgId), eq(orgKeys.use, 'enc')))
    .where(eq(devices.id, deviceId));
  const first = rows[0];
  const encryptionKeys = rows
    .flatMap((r) => (r.kid && r.jwk ? [{ kid: r.kid, jwk: r.jwk, active: r.status === 'active' }] : []))
    .sort((a, b) => Number(b.active) - Number(a.active));
  return { deviceId, settings: { ...(first?.org ?? {}), ...(first?.device ?? {}) }, orgId: first?.orgId ?? null, encryptionKeys };
}
