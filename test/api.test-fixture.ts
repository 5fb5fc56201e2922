import { eq } from 'drizzle-orm';
import { deviceCertificates, deviceConnections, devices, deviceUsers, type DEVICE_ROLES } from '../schema/index.ts';
import { db } from './support/auth-fixtures.ts';

/** Seeds a claimed device with the given users' roles, optionally online and with an active certificate. */
export async function seedDevice(opts: { members: [string, (typeof DEVICE_ROLES)[number]][]; online?: boolean; certificate?: boolean; name?: string }) {
  const id = crypto.randomUUID();
  const now = Date.now();
  await db().insert(devices).values({ id, name: opts.name ?? `device ${id.slice(0, 4)}`, serial: `SN-${id.slice(0, 8)}`, status: 'claimed', settings: { interval: 30 } });
  for (const [userId, role] of opts.members) await db().insert(deviceUsers).values({ deviceId: id, userId, role, grantedBy: 'test' });
  if (opts.online !== undefined) {
    await db().insert(deviceConnections).values({ deviceId: id, online: opts.online, since: now - 60_000, lastSeen: now, agentVersion: '1.2.3' });
  }
  let serial: string | undefined;
  if (opts.certificate) {
    serial = crypto.randomUUID().replace(/-/g, '');
    await db().insert(deviceCertificates).values({ serial, deviceId: id, fingerprint: serial + serial, notBefore: now - 1000, notAfter: now + 86_400_000, pem: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----' });
  }
  return { id, serial };
}

/** The device's certificates as stored. */
export const certificatesOf = (deviceId: string) => db().select().from(deviceCertificates).where(eq(deviceCertificates.deviceId, deviceId));

/** The device's roles as stored. */
export const rolesOf = async (deviceId: string) =>
  Object.fromEntries((await db().select().from(deviceUsers).where(eq(deviceUsers.deviceId, deviceId))).map((r) => [r.userId, r.role]));
