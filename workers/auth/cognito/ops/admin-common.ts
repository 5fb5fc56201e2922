/** What the SigV4-signed admin operations share: the pool check, the user lookup, the actor, and Problem mapping. */
import { eq, or } from 'drizzle-orm';
import { Problem } from '../../../../lib/errors.ts';
import { users } from '../../../../schema/index.ts';
import type { AdminActor } from '../../store/client-admin.ts';
import { normaliseUsername, type User } from '../../store/users.ts';
import { CognitoError, invalidParameter, resourceNotFound, userNotFound } from '../errors.ts';
import type { CognitoContext } from '../operation.ts';

/** Refuses a UserPoolId other than the configured one, as Cognito answers for a pool that does not exist. */
export function requirePool(ctx: CognitoContext, userPoolId: string): void {
  if (userPoolId !== ctx.cognito.userPoolId) throw resourceNotFound(`User pool ${userPoolId} does not exist.`);
}

/** The verified operator behind an admin call, for the audit log. */
export function actor(ctx: CognitoContext): AdminActor {
  if (!ctx.admin) throw new Error('admin operation without a verified signature');
  return ctx.admin;
}

/** A user by username (the email) or `sub`, or UserNotFoundException. */
export async function adminUser(ctx: CognitoContext, username: string): Promise<User> {
  const name = normaliseUsername(username);
  const user = await ctx.db.query.users.findFirst({ where: or(eq(users.username, name), eq(users.id, username.trim())) });
  if (!user) throw userNotFound();
  return user;
}

/** Runs an admin store function, turning its RFC 9457 problems into the Cognito exceptions an SDK expects. */
export async function viaAdminStore<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof Problem)) throw err;
    if (err.status === 404) throw userNotFound();
    if (err.status === 409) throw new CognitoError('UsernameExistsException', 'User account already exists');
    if (err.type === 'urn:gatehouse:problem:weak-password') throw new CognitoError('InvalidPasswordException', `Password did not conform with policy: ${err.message}`);
    throw invalidParameter(err.message);
  }
}
