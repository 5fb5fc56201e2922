import { hashPassword, verifyPassword } from '../../lib/password.ts';
import type { Database } from '../db.ts';
import { isIpLocked, recordIpFailure, type LockoutPolicy } from './store/throttle.ts';
import { recordUserFailure, recordUserSuccess } from './store/user-auth.ts';
import { findUserByUsername, type User } from './store/users.ts';

/**
 * The outcome of a password sign-in. Every `failed` is shown as the same generic message (no user enumeration);
 * `reason` is for the logs only. The other outcomes happen only after the right password was given, except
 * `reset_required` for an imported user who has no password yet (which is Cognito's behaviour, too).
 */
export type SignInOutcome =
  | { kind: 'ok'; user: User }
  | { kind: 'failed'; reason: 'unknown_user' | 'no_password' | 'wrong_password' | 'user_locked' | 'ip_locked' | 'disabled' | 'external' }
  | { kind: 'unconfirmed'; user: User }
  | { kind: 'new_password_required'; user: User }
  | { kind: 'reset_required'; user: User };

let dummyHash: Promise<string> | undefined;

/** A hash of a random password at the current work factor, verified against when there is no real hash to check. */
const dummy = () => (dummyHash ??= hashPassword(crypto.randomUUID()));

/**
 * Checks an email and password with per-account and per-IP lock-out. The password is always put through one PBKDF2
 * verification (a dummy one for unknown users) so that response time does not reveal whether an account exists.
 * Failures are counted only for wrong passwords, so a locked-out owner typing the right password adds nothing.
 */
export async function signIn(db: Database, policy: LockoutPolicy, input: { email: string; password: string; ip: string | undefined }, now = Date.now()): Promise<SignInOutcome> {
  const [ipLocked, user] = await Promise.all([input.ip ? isIpLocked(db, input.ip, now) : false, findUserByUsername(db, input.email)]);
  const countIp = async () => {
    if (input.ip && !ipLocked) await recordIpFailure(db, input.ip, policy, now);
  };

  if (!user || user.passwordHash === null) {
    await verifyPassword(input.password, await dummy());
    if (user && !ipLocked && user.enabled && user.status === 'RESET_REQUIRED') return { kind: 'reset_required', user };
    await countIp();
    return { kind: 'failed', reason: user ? 'no_password' : 'unknown_user' };
  }

  const { ok, needsRehash } = await verifyPassword(input.password, user.passwordHash);
  if (!ok) await countIp();
  if (ipLocked) return { kind: 'failed', reason: 'ip_locked' };
  if (user.lockedUntil !== null && user.lockedUntil > now) return { kind: 'failed', reason: 'user_locked' };
  if (!user.enabled) return { kind: 'failed', reason: 'disabled' };
  if (!ok) {
    await recordUserFailure(db, user.id, policy, now);
    return { kind: 'failed', reason: 'wrong_password' };
  }

  const confirmed = user.status === 'CONFIRMED';
  await recordUserSuccess(db, user.id, confirmed && needsRehash ? await hashPassword(input.password) : undefined, now);
  switch (user.status) {
    case 'CONFIRMED':
      return { kind: 'ok', user };
    case 'UNCONFIRMED':
      return { kind: 'unconfirmed', user };
    case 'FORCE_CHANGE_PASSWORD':
      return { kind: 'new_password_required', user };
    case 'RESET_REQUIRED':
      return { kind: 'reset_required', user };
    case 'EXTERNAL_PROVIDER':
      return { kind: 'failed', reason: 'external' };
  }
}
