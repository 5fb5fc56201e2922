import { Hono } from 'hono';
import { Problem } from '../../lib/errors.ts';
import { checkPublicJwk, importIssue, type KeyUse, type PublicJwk } from '../../lib/records/jwk.ts';
import { database } from '../db.ts';
import { actorId, type OrgEnv } from './caller.ts';
import { validate } from '../validate.ts';
import { keysView, listOrgKeys, registerKey } from './key-store.ts';
import { requireOrg } from './org-store.ts';
import { requireOrgRole } from './roles.ts';
import { orgParams, putKeysBody } from './schemas.ts';

/**
 * `PUT /api/orgs/:orgId/keys` (admin, owner): registers the organisation's PUBLIC encryption and/or signing key.
 * Each becomes the active key of its use; the previous one is retired and kept (rotation). The schema refuses private,
 * unsupported and unnamed keys; WebCrypto then refuses points that are not on the curve.
 */
export const keyRoutes = new Hono<OrgEnv>().put('/:orgId/keys', validate('param', orgParams), validate('json', putKeysBody), async (c) => {
  const db = database(c.env.DB);
  const { orgId } = c.req.valid('param');
  const me = c.get('caller');
  requireOrgRole((await requireOrg(db, orgId, me)).role, 'admin', 'register keys');
  const body = c.req.valid('json');
  const given: [string, KeyUse, unknown][] = [
    ['encryptionKey', 'enc', body.encryptionKey],
    ['signingKey', 'sig', body.signingKey],
  ];
  const keys: PublicJwk[] = [];
  for (const [field, use, input] of given) {
    if (input === undefined) continue;
    const checked = checkPublicJwk(input, use);
    // The body schema already ran these checks; this only narrows the type.
    if (!checked.ok) throw new Error(`${field} passed validation but not checkPublicJwk`);
    const issue = await importIssue(checked.jwk);
    if (issue) throw new Problem(400, 'Bad Request', { detail: `${field} is not a usable public key.`, type: 'urn:gatehouse:problem:validation', errors: [{ path: `${field}.${issue.path}`, message: issue.message }] });
    keys.push(checked.jwk);
  }
  if (keys.length === 2 && keys[0]?.kid === keys[1]?.kid) {
    throw new Problem(400, 'Bad Request', { detail: 'The encryption and signing keys need different kids.', type: 'urn:gatehouse:problem:validation', errors: [{ path: 'signingKey.kid', message: 'must differ from encryptionKey.kid' }] });
  }
  const by = { actor: actorId(me), requestId: c.get('requestId') };
  for (const jwk of keys) await registerKey(db, orgId, jwk, by);
  return c.json(keysView(await listOrgKeys(db, orgId)));
});
