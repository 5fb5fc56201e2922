import { and, eq } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { BearerError } from '../../lib/errors.ts';
import { userIdentities, users } from '../../schema/index.ts';
import type { User } from '../auth/store/users.ts';
import { database, type Database } from '../db.ts';
import { admit } from '../gateway/authenticate.ts';
import { gatewayConfig } from '../gateway/config.ts';
import type { GatewayEnv, Principal } from '../gateway/principal.ts';
import { clientIp } from '../gateway/rate-limit.ts';

/** The Hono env of Client API routes: the gateway's, plus the caller's user row. */
export type ApiEnv = { Bindings: GatewayEnv['Bindings']; Variables: GatewayEnv['Variables'] & { user: User } };

const inactive = () => new BearerError('invalid_token', 'The token does not belong to an active user.');

/**
 * A trusted external issuer's user, created on first sight as Cognito creates federated users: username
 * `<provider>_<sub>`, status EXTERNAL_PROVIDER, no password, and a `user_identities` link (provider, sub). Two first
 * calls at once are fine: both inserts ignore conflicts, and the link decides which row is the user.
 */
async function federatedUser(db: Database, principal: Principal, provider: string, now = Date.now()): Promise<User | undefined> {
  const find = () =>
    db
      .select({ user: users })
      .from(userIdentities)
      .innerJoin(users, eq(users.id, userIdentities.userId))
      .where(and(eq(userIdentities.provider, provider), eq(userIdentities.subject, principal.subject)))
      .get();
  const found = await find();
  if (found) return found.user;
  const id = crypto.randomUUID();
  const username = `${provider}_${principal.subject}`.toLowerCase();
  await db.batch([
    db.insert(users).values({ id, username, email: principal.email?.toLowerCase() ?? username, emailVerified: false, status: 'EXTERNAL_PROVIDER', createdAt: now, updatedAt: now }).onConflictDoNothing(),
    db.insert(userIdentities).values({ id: crypto.randomUUID(), userId: id, provider, subject: principal.subject, email: principal.email ?? null }).onConflictDoNothing(),
  ]);
  return (await find())?.user;
}

/** The local user a principal speaks for: the token's `sub` for our tokens, the federated twin for trusted issuers. */
export async function resolveUser(env: Env, db: Database, principal: Principal): Promise<User> {
  let user: User | undefined;
  if (principal.own) user = await db.query.users.findFirst({ where: eq(users.id, principal.subject) });
  else {
    const trusted = gatewayConfig(env).trustedIssuers.find((t) => t.issuer === principal.issuer);
    user = trusted ? await federatedUser(db, principal, trusted.name) : undefined;
  }
  if (!user || !user.enabled) throw inactive();
  return user;
}

/**
 * The Client API's front door, for a person's token: per-IP limit, bearer authentication (401/403 per RFC 6750),
 * per-subject limit, then the caller's user row (a federated caller's is created on first sight).
 */
export const protectApi = (): MiddlewareHandler<ApiEnv> =>
  async function protectApi(c, next) {
    const principal = await admit(c.env, { authorization: c.req.header('authorization'), ip: clientIp(c), log: c.get('log') }, { kind: 'user' });
    c.set('principal', principal);
    c.set('user', await resolveUser(c.env, database(c.env.DB), principal));
    return next();
  };
