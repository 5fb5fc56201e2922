import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { Problem } from '../../lib/errors.ts';
import { users } from '../../schema/index.ts';
import { database } from '../db.ts';
import { validate } from '../validate.ts';
import type { ApiEnv } from './current-user.ts';
import { checkRemoval, planGrant, requireRole } from './device-roles.ts';
import { requireDevice } from './device-store.ts';
import { findMember, listMembers, removeMember, setMemberRole, transferOwnership } from './member-store.ts';
import { deviceParams, grantBody, memberParams } from './schemas.ts';

const notMember = (userId: string) => new Problem(404, 'Not Found', { detail: `User ${userId} has no role on this device.`, type: 'urn:gatehouse:problem:not-found' });

/**
 * `GET /api/devices/:deviceId/users`, `PUT|DELETE /api/devices/:deviceId/users/:userId`: sharing a device. The rules
 * (no granting above one's own role, owner changes only by transfer) are in device-roles.ts. Mounted inside `devices`,
 * which authenticates.
 */
export const permissions = new Hono<ApiEnv>()
  .get('/:deviceId/users', validate('param', deviceParams), async (c) => {
    const db = database(c.env.DB);
    const { deviceId } = c.req.valid('param');
    requireRole((await requireDevice(db, deviceId, c.get('user'))).role, 'admin', 'list who shares this device');
    return c.json({ users: await listMembers(db, deviceId) });
  })
  .put('/:deviceId/users/:userId', validate('param', memberParams), validate('json', grantBody), async (c) => {
    const db = database(c.env.DB);
    const { deviceId, userId } = c.req.valid('param');
    const me = c.get('user');
    const mine = await requireDevice(db, deviceId, me);
    const target = await db.query.users.findFirst({ where: eq(users.id, userId), columns: { id: true, enabled: true } });
    if (!target) throw new Problem(404, 'Not Found', { detail: `No user ${userId}.`, type: 'urn:gatehouse:problem:not-found' });
    const current = await findMember(db, deviceId, userId);
    const plan = planGrant({ id: me.id, role: mine.role }, { id: userId, current: current?.role }, c.req.valid('json').role);
    const by = { actor: me.id, requestId: c.get('requestId') };
    if (plan.kind === 'transfer') {
      if (!(await transferOwnership(db, deviceId, me.id, userId, by))) {
        throw new Problem(409, 'Conflict', { detail: 'Ownership changed meanwhile; reload and try again.', type: 'urn:gatehouse:problem:conflict' });
      }
    } else if (plan.role !== 'owner') {
      await setMemberRole(db, deviceId, userId, plan.role, by);
    }
    const member = await findMember(db, deviceId, userId);
    if (!member) throw notMember(userId);
    return c.json(member, current ? 200 : 201);
  })
  .delete('/:deviceId/users/:userId', validate('param', memberParams), async (c) => {
    const db = database(c.env.DB);
    const { deviceId, userId } = c.req.valid('param');
    const me = c.get('user');
    const mine = await requireDevice(db, deviceId, me);
    const target = await findMember(db, deviceId, userId);
    if (!target) {
      requireRole(mine.role, 'admin', 'remove users');
      throw notMember(userId);
    }
    checkRemoval({ id: me.id, role: mine.role }, { id: userId, role: target.role });
    await removeMember(db, deviceId, userId, { actor: me.id, requestId: c.get('requestId') });
    return c.body(null, 204);
  });
