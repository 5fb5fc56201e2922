/**
 * The user-row updates of the hosted sign-in, sign-up, confirm and reset flows. Each is one conditional UPDATE, so a
 * state change (confirming, leaving FORCE_CHANGE_PASSWORD) happens at most once even under parallel requests.
 */
import { and, eq, sql } from 'drizzle-orm';
import { users } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';
import type { LockoutPolicy } from './throttle.ts';
import type { User } from './users.ts';

/**
 * Counts a failed sign-in on the account and locks it for `lockoutSeconds` when the count reaches `maxFailures`
 * (the counter then restarts). SQLite evaluates every SET on the old row, so the count and the lock agree.
 */
export async function recordUserFailure(db: Database, userId: string, policy: LockoutPolicy, now = Date.now()): Promise<{ locked: boolean }> {
  const reached = sql`${users.failedLogins} + 1 >= ${policy.maxFailures}`;
  const [row] = await db
    .update(users)
    .set({
      failedLogins: sql`CASE WHEN ${reached} THEN 0 ELSE ${users.failedLogins} + 1 END`,
      lockedUntil: sql`CASE WHEN ${reached} THEN ${now + policy.lockoutSeconds * 1000} ELSE ${users.lockedUntil} END`,
      updatedAt: now,
    })
    .where(eq(users.id, userId))
    .returning({ lockedUntil: users.lockedUntil });
  return { locked: (row?.lockedUntil ?? 0) > now };
}

/** Clears the failure count after a successful sign-in and, when asked, stores a stronger password hash. */
export async function recordUserSuccess(db: Database, userId: string, rehash: string | undefined, now = Date.now()): Promise<void> {
  await db
    .update(users)
    .set({ failedLogins: 0, lockedUntil: null, updatedAt: now, ...(rehash ? { passwordHash: rehash } : {}) })
    .where(eq(users.id, userId));
}

/** Marks a self-signed-up user confirmed (the emailed code proved the address); false when not UNCONFIRMED. */
export async function confirmSignup(db: Database, userId: string, now = Date.now()): Promise<boolean> {
  const rows = await db
    .update(users)
    .set({ status: 'CONFIRMED', emailVerified: true, updatedAt: now })
    .where(and(eq(users.id, userId), eq(users.status, 'UNCONFIRMED')))
    .returning({ id: users.id });
  return rows.length > 0;
}

/** Replaces the password of a user who has not confirmed yet (a repeated sign-up: the latest one wins). */
export async function replaceUnconfirmedPassword(db: Database, userId: string, passwordHash: string, now = Date.now()): Promise<boolean> {
  const rows = await db
    .update(users)
    .set({ passwordHash, updatedAt: now })
    .where(and(eq(users.id, userId), eq(users.status, 'UNCONFIRMED')))
    .returning({ id: users.id });
  return rows.length > 0;
}

/**
 * Sets a new password after a reset code was accepted: the account becomes CONFIRMED with a verified email (the code
 * proved the mailbox) and any lock-out is lifted.
 */
export async function resetPassword(db: Database, userId: string, passwordHash: string, now = Date.now()): Promise<void> {
  await db
    .update(users)
    .set({ passwordHash, status: 'CONFIRMED', emailVerified: true, failedLogins: 0, lockedUntil: null, updatedAt: now })
    .where(eq(users.id, userId));
}

/**
 * Leaves FORCE_CHANGE_PASSWORD with a new password, only if the temporary password hash is still the one the caller
 * checked: the conditional UPDATE makes a change challenge single-use.
 */
export async function completeNewPassword(db: Database, userId: string, oldHash: string, passwordHash: string, now = Date.now()): Promise<User | undefined> {
  const [user] = await db
    .update(users)
    .set({ passwordHash, status: 'CONFIRMED', failedLogins: 0, lockedUntil: null, updatedAt: now })
    .where(and(eq(users.id, userId), eq(users.status, 'FORCE_CHANGE_PASSWORD'), eq(users.passwordHash, oldHash)))
    .returning();
  return user;
}
