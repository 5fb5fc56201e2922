import { Hono } from 'hono';
import { database } from '../db.ts';
import { validate } from '../validate.ts';
import { authorize } from './authorize.ts';
import { protectApi, type ApiEnv } from './current-user.ts';
import { requireRole } from './device-roles.ts';
import { deviceView, findMembership, listUserDevices, releaseDevice, requireDevice, updateDevice } from './device-store.ts';
import { permissions } from './permissions.ts';
import { deviceParams, devicePatch, pageQuery } from './schemas.ts';

/**
 * `/api/devices…`: the caller's devices with their role and live connection status (from `device_connections`, which
 * each DeviceTunnel keeps current), and per-device reads and changes allowed by role. Sharing and the Authorizer are
 * mounted here too, behind the same front door.
 */
export const devices = new Hono<ApiEnv>()
  .use(protectApi())
  .get('/', validate('query', pageQuery), async (c) => {
    const { limit, after } = c.req.valid('query');
    const page = await listUserDevices(database(c.env.DB), c.get('user').id, { limit, after });
    return c.json({ devices: page.rows.map(deviceView), next: page.next });
  })
  .get('/:deviceId', validate('param', deviceParams), async (c) => {
    const row = await requireDevice(database(c.env.DB), c.req.valid('param').deviceId, c.get('user'));
    return c.json(deviceView(row));
  })
  .patch('/:deviceId', validate('param', deviceParams), validate('json', devicePatch), async (c) => {
    const db = database(c.env.DB);
    const { deviceId } = c.req.valid('param');
    const row = await requireDevice(db, deviceId, c.get('user'));
    requireRole(row.role, 'admin', 'change this device');
    await updateDevice(db, deviceId, c.req.valid('json'), { actor: c.get('user').id, requestId: c.get('requestId') });
    return c.json(deviceView((await findMembership(db, deviceId, c.get('user').id)) ?? row));
  })
  .delete('/:deviceId', validate('param', deviceParams), async (c) => {
    const db = database(c.env.DB);
    const { deviceId } = c.req.valid('param');
    const row = await requireDevice(db, deviceId, c.get('user'));
    requireRole(row.role, 'owner', 'delete this device');
    await releaseDevice(db, deviceId, { actor: c.get('user').id, requestId: c.get('requestId') });
    return c.body(null, 204);
  })
  .route('/', permissions)
  .route('/', authorize);
