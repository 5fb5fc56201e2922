/**
 * One-line hooks for code outside the Cognito API that sets or checks passwords (the hosted pages, the admin API), so
 * that USER_SRP_AUTH works for every user: the SRP verifier is stored when a password is set, or on the first password
 * sign-in after. They never fail the caller's flow: a verifier that could not be stored is only logged, and SRP then
 * fails like a wrong password until the next password sign-in stores one.
 */
import type { Database } from '../../db.ts';
import type { Logger } from '../../middleware/logger.ts';
import { claimsFernet } from '../mint.ts';
import { cognitoConfig } from './config.ts';
import { ensureSrpVerifier, storeSrpVerifier } from './srp-store.ts';

type PasswordUser = { id: string; username: string };

async function guarded(log: Logger | undefined, what: string, run: () => Promise<boolean>): Promise<boolean> {
  try {
    return await run();
  } catch (err) {
    log?.warn('srp verifier not stored', { what, error: err instanceof Error ? err.name : 'unknown' });
    return false;
  }
}

/** Call right after writing a new password hash (sign-up, reset, new-password challenge, admin set): stores its SRP verifier. */
export function afterPasswordSet(env: Env, db: Database, user: PasswordUser, password: string, log?: Logger): Promise<boolean> {
  return guarded(log, 'password set', () => storeSrpVerifier(db, claimsFernet(env), { userId: user.id, username: user.username, password, poolName: cognitoConfig(env).poolName }));
}

/** Call after a successful password sign-in: stores a verifier when the user has no current one (two indexed reads otherwise). */
export function afterPasswordSignIn(env: Env, db: Database, user: PasswordUser, password: string, log?: Logger): Promise<boolean> {
  return guarded(log, 'sign-in', () => ensureSrpVerifier(db, claimsFernet(env), { userId: user.id, username: user.username, password, poolName: cognitoConfig(env).poolName }));
}
