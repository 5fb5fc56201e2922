import { Hono } from 'hono';
import { Problem } from '../../lib/errors.ts';
import { authConfig } from '../auth/config.ts';
import { database } from '../db.ts';
import { gatewayConfig } from '../gateway/config.ts';
import { validate } from '../validate.ts';
import { requireUserCaller, type OrgEnv } from './caller.ts';
import { createOrgClient, deleteOrgClient, findOrgClient, listOrgClients, ORG_CLIENT_SCOPE } from './client-store.ts';
import { disconnectMember } from './notify.ts';
import { requireOrg } from './org-store.ts';
import { orgAtLeast, requireOrgRole } from './roles.ts';
import { createOrgClientBody, orgClientParams, orgParams } from './schemas.ts';

/**
 * `/api/orgs/:orgId/clients…` (admins and the owner, with their own token): app clients bound to the organisation, a
 * connector's service identity. A client gets tokens with `grant_type=client_credentials` at `/oauth2/token` and acts
 * in this organisation only, with its role (caller.ts, `requireOrg`). Revoking deletes the client: its binding goes,
 * so its tokens are refused at once, and its open record streams are closed.
 */
export const clientRoutes = new Hono<OrgEnv>()
  .post('/:orgId/clients', validate('param', orgParams), validate('json', createOrgClientBody), async (c) => {
    const db = database(c.env.DB);
    const { orgId } = c.req.valid('param');
    const me = requireUserCaller(c.get('caller'));
    const mine = await requireOrg(db, orgId, c.get('caller'));
    requireOrgRole(mine.role, 'admin', 'create app clients');
    const { name, role } = c.req.valid('json');
    if (!orgAtLeast(mine.role, role)) throw new Problem(403, 'Forbidden', { detail: `You cannot give a client the role ${role}, which is above your own (${mine.role}).`, type: 'urn:gatehouse:problem:org-role' });
    const scopes = [...new Set([ORG_CLIENT_SCOPE, ...gatewayConfig(c.env).requiredScopes])];
    const { client, secret } = await createOrgClient(db, orgId, { name, role, scopes }, { actor: me.id, requestId: c.get('requestId') });
    return c.json({ ...client, clientSecret: secret, tokenEndpoint: `${authConfig(c.env).publicUrl}/oauth2/token` }, 201, { 'Cache-Control': 'no-store' });
  })
  .get('/:orgId/clients', validate('param', orgParams), async (c) => {
    const db = database(c.env.DB);
    const { orgId } = c.req.valid('param');
    requireUserCaller(c.get('caller'));
    requireOrgRole((await requireOrg(db, orgId, c.get('caller'))).role, 'admin', 'list app clients');
    return c.json({ clients: await listOrgClients(db, orgId) });
  })
  .delete('/:orgId/clients/:clientId', validate('param', orgClientParams), async (c) => {
    const db = database(c.env.DB);
    const { orgId, clientId } = c.req.valid('param');
    const me = requireUserCaller(c.get('caller'));
    requireOrgRole((await requireOrg(db, orgId, c.get('caller'))).role, 'admin', 'revoke app clients');
    if (!(await findOrgClient(db, orgId, clientId))) {
      throw new Problem(404, 'Not Found', { detail: `Client ${clientId} is not bound to this organisation.`, type: 'urn:gatehouse:problem:not-found' });
    }
    await deleteOrgClient(db, orgId, clientId, { actor: me.id, requestId: c.get('requestId') });
    await disconnectMember(c, orgId, `client:${clientId}`);
    return c.body(null, 204);
  });
