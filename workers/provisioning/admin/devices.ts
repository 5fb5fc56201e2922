import { Hono } from 'hono';
import { z } from 'zod';
import { Problem } from '../../../lib/errors.ts';
import { CRL_REASONS, type CrlReason } from '../../../lib/pki/crl.ts';
import { canonicalSerialHex, isDeviceId } from '../../../lib/pki/ids.ts';
import type { AppEnv } from '../../app-env.ts';
import { database } from '../../db.ts';
import { tunnelOf } from '../../devices/internal.ts';
import { validate } from '../../validate.ts';
import { currentCa } from '../ca.ts';
import { provisioningConfig } from '../config.ts';
import { findDevice, listCertificates, revokeCertificates } from '../store/certificates.ts';
import { currentCrl } from '../store/crl.ts';
import { PROV_ADMIN_ACTOR } from './auth.ts';
import { optionalJsonBody } from './optional-json.ts';

// RFC 5280 §5.3.1 reasons an operator may give. certificateHold/removeFromCRL (no un-hold here) and aACompromise
// (attribute certificates) do not apply to device certificates.
const REASONS = Object.keys(CRL_REASONS).filter((r) => !['certificateHold', 'removeFromCRL', 'aACompromise'].includes(r)) as [CrlReason, ...CrlReason[]];

/** The body of a revocation: the reason (default `unspecified`) and, optionally, one certificate's serial. */
export const revokeBody = z.object({
  reason: z.enum(REASONS).default('unspecified'),
  serial: z
    .string()
    .refine((s) => canonicalSerialHex(s.replace(/:/g, '')) !== null, 'must be a certificate serial in hex')
    .transform((s) => canonicalSerialHex(s.replace(/:/g, '')) ?? s)
    .optional(),
});

const notFound = (deviceId: string) => new Problem(404, 'Not Found', { detail: `No device ${deviceId}.`, type: 'urn:gatehouse:problem:not-found' });

async function existingDevice(db: ReturnType<typeof database>, deviceId: string) {
  const device = isDeviceId(deviceId) ? await findDevice(db, deviceId) : undefined;
  if (!device) throw notFound(deviceId);
  return device;
}

/** The admin device endpoints: revoke a device's certificates and list them. */
export const deviceAdmin = new Hono<AppEnv>()
  .post('/admin/api/devices/:deviceId/revoke', optionalJsonBody(), validate('json', revokeBody), async (c) => {
    const deviceId = c.req.param('deviceId');
    const { reason, serial } = c.req.valid('json');
    const db = database(c.env.DB);
    await existingDevice(db, deviceId);
    if (serial !== undefined && !(await listCertificates(db, deviceId)).some((cert) => cert.serial === serial)) {
      throw new Problem(404, 'Not Found', { detail: `Device ${deviceId} has no certificate ${serial}.`, type: 'urn:gatehouse:problem:not-found' });
    }
    const revoked = await revokeCertificates(db, { deviceId, reason, serial }, { actor: PROV_ADMIN_ACTOR, requestId: c.get('requestId') });
    c.get('log').info('device certificates revoked', { deviceId, reason, count: revoked.length });
    // Rebuild the CRL now rather than on the next fetch; if that fails the revocation still stands and the fetch rebuilds it.
    try {
      await currentCrl(db, await currentCa(c.env), provisioningConfig(c.env).crlValidityMs);
    } catch (e) {
      c.get('log').error('CRL rebuild after revocation failed', { error: e instanceof Error ? e.message : String(e) });
    }
    // A tunnel opened with a revoked certificate is closed now, not when it next reconnects (a superseded one was replaced by its renewal).
    if (revoked.length > 0 && reason !== 'superseded') {
      await tunnelOf(c.env, deviceId)
        .revoked(revoked)
        .catch((e: unknown) => c.get('log').error('closing the revoked device tunnel failed', { deviceId, error: e instanceof Error ? e.message : String(e) }));
    }
    const device = await existingDevice(db, deviceId);
    return c.json({ deviceId, status: device.status, reason, revoked }, 200, { 'Cache-Control': 'no-store' });
  })
  .get('/admin/api/devices/:deviceId/certificates', async (c) => {
    const deviceId = c.req.param('deviceId');
    const db = database(c.env.DB);
    const device = await existingDevice(db, deviceId);
    const certificates = await listCertificates(db, deviceId);
    return c.json({ deviceId, serial: device.serial, status: device.status, certificates }, 200, { 'Cache-Control': 'no-store' });
  });
