import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { Problem } from '../../lib/errors.ts';
import { users } from '../../schema/index.ts';
import { database } from '../db.ts';
import { actorId, requireUserCaller, type OrgEnv } from './caller.ts';
import { validate } from '../validate.ts';
import { keysView, listOrgKeys } from './key-store.ts';
import { findOrgMember, listOrgMembers, removeOrgMember, setOrgMemberRole, transferOrgOwnership } from './member-store.ts';
import { disconnectMember } from './notify.ts';
import { createOrg, listUserOrgs, orgView, requireOrg, updateOrg } from './org-store.ts';
import { checkOrgRemoval, planOrgGrant, requireOrgRole } from './roles.ts';
import { createOrgBody, orgGrantBody, orgMemberParams, orgPageQuery, orgParams, orgPatch } from './schemas.ts';

const notMember = (userId: string) => new Problem(404, 'Not Found', { detail: `User ${userId} is not a member of this organisation.`, type: 'urn:gatehouse:problem:not-found' });

/**
 * `/api/orgs…`: create and list organisations, read and change one, and manage its members with the rules of
 * roles.ts. Mounted behind the organisations' front door (caller.ts): creating and listing organisations and changing
 * members is for people only; a bound app client reads its organisation and, as admin, changes it.
 */
export const orgRoutes = new Hono<OrgEnv>()
  .post('/', validate('json', createOrgBody), async (c) => {
    const row = await createOrg(database(c.env.DB), c.req.valid('json'), { actor: requireUserCaller(c.get('caller')).id, requestId: c.get('requestId') });
    return c.json({ ...orgView(row), keys: { encryption: [], signing: [] } }, 201);
  })
  .get('/', validate('query', orgPageQuery), async (c) => {
    const page = await listUserOrgs(database(c.env.DB), requireUserCaller(c.get('caller')).id, c.req.valid('query'));
    return c.json({ orgs: page.rows.map(orgView), next: page.next });
  })
  .get('/:orgId', validate('param', orgParams), async (c) => {
    const db = database(c.env.DB);
    const { orgId } = c.req.valid('param');
    const row = await requireOrg(db, orgId, c.get('caller'));
    return c.json({ ...orgView(row), keys: keysView(await listOrgKeys(db, orgId)) });
  })
  .patch('/:orgId', validate('param', orgParams), validate('json', orgPatch), async (c) => {
    const db = database(c.env.DB);
    const { orgId } = c.req.valid('param');
    const me = c.get('caller');
    requireOrgRole((await requireOrg(db, orgId, me)).role, 'admin', 'change this organisation');
    await updateOrg(db, orgId, c.req.valid('json'), { actor: actorId(me), requestId: c.get('requestId') });
    return c.json({ ...orgView(await requireOrg(db, orgId, me)), keys: keysView(await listOrgKeys(db, orgId)) });
  })
  .get('/:orgId/members', validate('param', orgParams), async (c) => {
    const db = database(c.env.DB);
    const { orgId } = c.req.valid('param');
    await requireOrg(db, orgId, c.get('caller'));
    return c.json({ members: await listOrgMembers(db, orgId) });
  })
  .put('/:orgId/members/:userId', validate('param', orgMemberParams), validate('json', orgGrantBody), async (c) => {
    const db = database(c.env.DB);
    const { orgId, userId } = c.req.valid('param');
    const me = requireUserCaller(c.get('caller'));
    const mine = await requireOrg(db, orgId, c.get('caller'));
    const target = await db.query.users.findFirst({ where: eq(users.id, userId), columns: { id: true } });
    if (!target) throw new Problem(404, 'Not Found', { detail: `No user ${userId}.`, type: 'urn:gatehouse:problem:not-found' });
    const current = await findOrgMember(db, orgId, userId);
    const plan = planOrgGrant({ id: me.id, role: mine.role }, { id: userId, current: current?.role }, c.req.valid('json').role);
    const by = { actor: me.id, requestId: c.get('requestId') };
    if (plan.kind === 'transfer') {
      if (!(await transferOrgOwnership(db, orgId, me.id, userId, by))) {
        throw new Problem(409, 'Conflict', { detail: 'Ownership changed meanwhile; reload and try again.', type: 'urn:gatehouse:problem:conflict' });
      }
    } else {
      await setOrgMemberRole(db, orgId, userId, plan.role, by);
    }
    const member = await findOrgMember(db, orgId, userId);
    if (!member) throw notMember(userId);
    return c.json(member, current ? 200 : 201);
  })
  .delete('/:orgId/members/:userId', validate('param', orgMemberParams), async (c) => {
    const db = database(c.env.DB);
    const { orgId, userId } = c.req.valid('param');
    const me = requireUserCaller(c.get('caller'));
    const mine = await requireOrg(db, orgId, c.get('caller'));
    const target = await findOrgMember(db, orgId, userId);
    if (!target) {
      requireOrgRole(mine.role, 'admin', 'remove members');
      throw notMember(userId);
    }
    checkOrgRemoval({ id: me.id, role: mine.role }, { id: userId, role: target.role });
    await removeOrgMember(db, orgId, userId, { actor: me.id, requestId: c.get('requestId') });
    await disconnectMember(c, orgId, userId);
    return c.body(null, 204);
  });
