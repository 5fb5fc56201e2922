import { and, eq, gt, sql } from 'drizzle-orm';
import { loginThrottle } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

/** How many failures lock a key out, and for how long (authConfig's LOGIN_MAX_FAILURES / LOGIN_LOCKOUT_SECONDS). */
export type LockoutPolicy = { maxFailures: number; lockoutSeconds: number };

const ipKey = (ip: string) => `ip:${ip}`;

/** Whether sign-ins from this client IP are locked out right now. */
export async function isIpLocked(db: Database, ip: string, now = Date.now()): Promise<boolean> {
  const row = await db.query.loginThrottle.findFirst({
    where: and(eq(loginThrottle.key, ipKey(ip)), gt(loginThrottle.lockedUntil, now)),
    columns: { key: true },
  });
  return row !== undefined;
}

/**
 * Counts one failed sign-in from an IP in a fixed window of `lockoutSeconds`, and locks the IP out when the count
 * reaches `maxFailures`. One upsert does it all: SQLite evaluates every SET expression on the old row, so parallel
 * failures cannot lose a count (no read-then-write).
 */
export async function recordIpFailure(db: Database, ip: string, policy: LockoutPolicy, now = Date.now()): Promise<{ locked: boolean }> {
  const windowMs = policy.lockoutSeconds * 1000;
  const lockUntil = now + windowMs;
  const stale = sql`${loginThrottle.windowStart} <= ${now - windowMs}`;
  const next = sql`(CASE WHEN ${stale} THEN 1 ELSE ${loginThrottle.failures} + 1 END)`;
  const [row] = await db
    .insert(loginThrottle)
    .values({ key: ipKey(ip), failures: 1, windowStart: now, lockedUntil: policy.maxFailures <= 1 ? lockUntil : null })
    .onConflictDoUpdate({
      target: loginThrottle.key,
      set: {
        failures: next,
        windowStart: sql`CASE WHEN ${stale} THEN ${now} ELSE ${loginThrottle.windowStart} END`,
        lockedUntil: sql`CASE WHEN ${next} >= ${policy.maxFailures} THEN ${lockUntil} ELSE ${loginThrottle.lockedUntil} END`,
      },
    })
    .returning({ lockedUntil: loginThrottle.lockedUntil });
  return { locked: (row?.lockedUntil ?? 0) > now };
}
