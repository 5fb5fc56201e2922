import { eq } from 'drizzle-orm';
import { Hono, type MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { BearerError, Problem } from '../../lib/errors.ts';
import { users } from '../../schema/index.ts';
import { authConfig } from '../auth/config.ts';
import { claimsFernet } from '../auth/mint.ts';
import { readUserClaims, setUserRoles } from '../auth/store/claims-admin.ts';
import { createAccount, deleteAccount, getUser, listUsers, setUserEnabled, type UserSummary } from '../auth/store/user-admin.ts';
import { database, type Database } from '../db.ts';
import { gatewayConfig } from '../gateway/config.ts';
import { validate } from '../validate.ts';
import { protectApi, type ApiEnv } from './current-user.ts';
import { createUserBody, pageQuery, updateUserBody, userParams, type adminUserSchema } from './schemas.ts';

/** A user as administrators see them. */
type AdminUser = z.output<typeof adminUserSchema>;

/** 403 `insufficient_scope` unless our own token's Hasura allowed roles include one of ADMIN_ROLES. */
const requireAdmin = (): MiddlewareHandler<ApiEnv> =>
  async function requireAdmin(c, next) {
    const p = c.get('principal');
    const admin = gatewayConfig(c.env).adminRoles;
    if (!p.own || !p.hasura?.allowedRoles.some((r) => admin.includes(r))) {
      throw new BearerError('insufficient_scope', `User management needs a token with one of the Hasura roles ${admin.join(', ')}.`);
    }
    return next();
  };

async function detail(env: Env, db: Database, summary: UserSummary): Promise<AdminUser> {
  const stored = await readUserClaims(db, claimsFernet(env), summary.id);
  const claims = stored.state === 'ok' ? stored.claims : {};
  const roles = claims['x-hasura-allowed-roles'];
  const dflt = claims['x-hasura-default-role'];
  return {
    id: summary.id,
    email: summary.email,
    status: summary.status,
    enabled: summary.enabled,
    emailVerified: summary.emailVerified,
    groups: summary.groups,
    roles: Array.isArray(roles) ? roles.map(String) : null,
    defaultRole: typeof dflt === 'string' ? dflt : null,
    createdAt: new Date(summary.createdAt).toISOString(),
    updatedAt: summary.updatedAt === null ? null : new Date(summary.updatedAt).toISOString(),
  };
}

/** The user with this id, or a 404 problem. */
async function byId(db: Database, id: string): Promise<UserSummary> {
  const row = await db.query.users.findFirst({ where: eq(users.id, id), columns: { username: true } });
  if (!row) throw new Problem(404, 'Not Found', { detail: `No user ${id}.`, type: 'urn:gatehouse:problem:not-found' });
  return getUser(db, row.username);
}

const notOnYourself = (what: string) => new Problem(409, 'Conflict', { detail: `You cannot ${what} yourself; ask another administrator.`, type: 'urn:gatehouse:problem:conflict' });

/**
 * `GET|POST /api/admin/users`, `GET|PUT|DELETE /api/admin/users/:id`: the Moped user-management API, for callers
 * whose Hasura claims include an admin role (ADMIN_ROLES). Roles are written as Fernet-encrypted Hasura claims;
 * disabling revokes every session; deleting removes the login, claims and federated links. Each change writes its
 * `audit_log` row (in the store functions, shared with the operator CLI).
 */
export const adminUsers = new Hono<ApiEnv>()
  .use(protectApi(), requireAdmin())
  .get('/', validate('query', pageQuery), async (c) => {
    const { limit, after } = c.req.valid('query');
    const offset = after && /^\d{1,9}$/.test(after) ? Number(after) : 0;
    const db = database(c.env.DB);
    const rows = await listUsers(db, { limit: limit + 1, offset });
    const page = rows.slice(0, limit);
    c.header('Cache-Control', 'no-store');
    return c.json({ users: await Promise.all(page.map((u) => detail(c.env, db, u))), next: rows.length > limit ? String(offset + limit) : null });
  })
  .post('/', validate('json', createUserBody), async (c) => {
    const body = c.req.valid('json');
    const db = database(c.env.DB);
    const roles = body.roles ?? gatewayConfig(c.env).newUserRoles;
    const configured = authConfig(c.env).defaultRole;
    const defaultRole = body.defaultRole ?? (configured && roles.includes(configured) ? configured : undefined);
    const { user, temporaryPassword } = await createAccount(
      db,
      claimsFernet(c.env),
      { email: body.email, password: body.password, temporaryPassword: body.temporaryPassword, groups: body.groups, roles, defaultRole },
      { actor: c.get('user').id, requestId: c.get('requestId') },
    );
    c.header('Cache-Control', 'no-store');
    return c.json({ user: await detail(c.env, db, user), temporaryPassword }, 201);
  })
  .get('/:id', validate('param', userParams), async (c) => {
    const db = database(c.env.DB);
    c.header('Cache-Control', 'no-store');
    return c.json(await detail(c.env, db, await byId(db, c.req.valid('param').id)));
  })
  .put('/:id', validate('param', userParams), validate('json', updateUserBody), async (c) => {
    const db = database(c.env.DB);
    const body = c.req.valid('json');
    const target = await byId(db, c.req.valid('param').id);
    const self = target.id === c.get('user').id;
    const by = { actor: c.get('user').id, requestId: c.get('requestId') };
    if (self && body.enabled === false) throw notOnYourself('disable');
    if (self && body.roles && !body.roles.some((r) => gatewayConfig(c.env).adminRoles.includes(r))) throw notOnYourself('remove the admin role from');
    if (body.roles) await setUserRoles(db, claimsFernet(c.env), target.email, { roles: body.roles, ...(body.defaultRole ? { defaultRole: body.defaultRole } : {}) }, by);
    if (body.enabled !== undefined && body.enabled !== target.enabled) await setUserEnabled(db, target.email, body.enabled, by);
    c.header('Cache-Control', 'no-store');
    return c.json(await detail(c.env, db, await getUser(db, target.email)));
  })
  .delete('/:id', validate('param', userParams), async (c) => {
    const db = database(c.env.DB);
    const target = await byId(db, c.req.valid('param').id);
    if (target.id === c.get('user').id) throw notOnYourself('delete');
    await deleteAccount(db, target.email, { actor: c.get('user').id, requestId: c.get('requestId') });
    return c.body(null, 204);
  });
