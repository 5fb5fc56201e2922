import { Hono } from 'hono';
import { GATEWAY_LIMITS, type DeviceConfig } from '../../lib/records/event.ts';
import { database } from '../db.ts';
import { deviceContext } from './device-context.ts';
import { requireDevice, type DeviceApiEnv } from './env.ts';

/**
 * `GET /device-api/v1/config`: what a device needs to send events: its organisation and that organisation's current
 * public encryption key (`kid` + JWK; null for a device without an organisation, or before the organisation registered
 * one), its settings (the organisation's, overridden by the device's), the server time and the batch limits.
 */
export const configRoute = new Hono<DeviceApiEnv>().get('/device-api/v1/config', requireDevice(), async (c) => {
  const ctx = await deviceContext(database(c.env.DB), c.get('device').deviceId);
  const active = ctx.encryptionKeys.find((k) => k.active);
  const body: DeviceConfig = {
    deviceId: ctx.deviceId,
    orgId: ctx.orgId,
    encryptionKey: active ? { kid: active.kid, jwk: { ...active.jwk, kid: active.kid, kty: String(active.jwk.kty) } } : null,
    settings: ctx.settings,
    serverTime: new Date().toISOString(),
    limits: { ...GATEWAY_LIMITS },
  };
  return c.json(body, 200, { 'Cache-Control': 'no-store' });
});
