import type { MiddlewareHandler } from 'hono';
import { BearerError } from '../../lib/errors.ts';
import { resolveUser } from '../api/current-user.ts';
import type { User } from '../auth/store/users.ts';
import { database } from '../db.ts';
import { admit } from '../gateway/authenticate.ts';
import type { GatewayEnv } from '../gateway/principal.ts';
import { clientIp } from '../gateway/rate-limit.ts';

/**
 * Who calls `/api/orgs…`: a person (their user row), or an app client bound to one organisation (`org_clients`), whose
 * client_credentials token acts in that organisation only, with the bound role. Which organisation and role is decided
 * per request by `requireOrg` (org-store.ts), so a revoked binding stops working at once.
 */
export type OrgCaller = { kind: 'user'; id: string; user: User } | { kind: 'client'; id: string };

/** The Hono env of the organisation routes: the gateway's, plus the caller. */
export type OrgEnv = { Bindings: GatewayEnv['Bindings']; Variables: GatewayEnv['Variables'] & { caller: OrgCaller } };

/** The id a caller is recorded under in `audit_log.actor`, `created_by` columns and stream sockets. */
export const actorId = (caller: OrgCaller): string => (caller.kind === 'user' ? caller.id : `client:${caller.id}`);

/** The caller's user; a client token gets the 403 a user-only API gives it (organisation lists, members, clients). */
export function requireUserCaller(caller: OrgCaller): { id: string; user: User } {
  if (caller.kind === 'client') throw new BearerError('insufficient_scope', 'This API acts for a user; a client token cannot call it.');
  return caller;
}

/**
 * The front door of `/api/orgs…`: the Client API's (per-IP limit, bearer token, revocation, per-subject limit, user
 * row), except that a client_credentials token of this platform is let through as a client caller; whether it is
 * bound to the organisation in the path is checked by `requireOrg`.
 */
export const protectOrgs = (): MiddlewareHandler<OrgEnv> =>
  async function protectOrgs(c, next) {
    const principal = await admit(c.env, { authorization: c.req.header('authorization'), ip: clientIp(c), log: c.get('log') }, { kind: 'any' });
    c.set('principal', principal);
    if (principal.kind === 'client') c.set('caller', { kind: 'client', id: principal.subject });
    else {
      const user = await resolveUser(c.env, database(c.env.DB), principal);
      c.set('caller', { kind: 'user', id: user.id, user });
    }
    return next();
  };
