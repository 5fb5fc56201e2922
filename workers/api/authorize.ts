import { Hono } from 'hono';
import { Problem } from '../../lib/errors.ts';
import { database } from '../db.ts';
import { issueDeviceAccessToken } from '../gateway/device-access.ts';
import { validate } from '../validate.ts';
import type { ApiEnv } from './current-user.ts';
import { requireRole } from './device-roles.ts';
import { requireDevice } from './device-store.ts';
import { deviceParams } from './schemas.ts';

/**
 * `POST /api/devices/:deviceId/authorize`: the Authorizer. Operators and above get a device-access token (JWE, opaque,
 * AUTHZ_TOKEN_TTL_SECONDS long) that only this device's proxy accepts. The role is checked now, against
 * `device_users`: a user whose access was revoked is refused at once, while a token issued before keeps working
 * until it expires (minutes), because the proxy does not look the role up again.
 */
export const authorize = new Hono<ApiEnv>().post('/:deviceId/authorize', validate('param', deviceParams), async (c) => {
  const { deviceId } = c.req.valid('param');
  const user = c.get('user');
  const row = await requireDevice(database(c.env.DB), deviceId, user);
  requireRole(row.role, 'operator', 'reach this device');
  if (row.device.status === 'revoked') {
    throw new Problem(409, 'Conflict', { detail: 'This device is revoked; it can no longer be reached.', type: 'urn:gatehouse:problem:device-revoked' });
  }
  const { token, expiresIn } = await issueDeviceAccessToken(c.env, { userId: user.id, deviceId, role: row.role });
  c.header('Cache-Control', 'no-store');
  return c.json({ token, expiresIn, role: row.role });
});
