import { eq, sql } from 'drizzle-orm';
import { loginThrottle } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

/** How many bad admin credentials lock an IP out, and for how long (PROV_ADMIN_MAX_FAILURES / PROV_ADMIN_LOCKOUT_SECONDS). */
export type AdminLockoutPolicy = { maxFailures: number; lockoutSeconds: number };

// Shares the sign-in throttle table under its own key prefix, so admin failures and sign-in failures never mix.
const adminKey = (ip: string) => `prov:${ip}`;

/** When the IP's admin lock-out ends (ms), or null when it is not locked out. */
export async function adminLockedUntil(db: Database, ip: string, now = Date.now()): Promise<number | null> {
  const row = await db.query.loginThrottle.findFirst({ where: eq(loginThrottle.key, adminKey(ip)), columns: { lockedUntil: true } });
  return row?.lockedUntil != null && row.lockedUntil > now ? row.lockedUntil : null;
}

/**
 * Counts one bad admin credential from an IP in a fixed window of `lockoutSeconds` and locks the IP out when the count
 * reaches `maxFailures`. One upsert: SQLite evaluates every SET expression on the old row, so parallel failures
 * cannot lose a count. Returns when the lock-out ends, or null.
 */
export async function recordAdminFailure(db: Database, ip: string, policy: AdminLockoutPolicy, now = Date.now()): Promise<number | null> {
  const windowMs = policy.lockoutSeconds * 1000;
  const lockUntil = now + windowMs;
  const stale = sql`${loginThrottle.windowStart} <= ${now - windowMs}`;
  const next = sql`(CASE WHEN ${stale} THEN 1 ELSE ${loginThrottle.failures} + 1 END)`;
  const [row] = await db
    .insert(loginThrottle)
    .values({ key: adminKey(ip), failures: 1, windowStart: now, lockedUntil: policy.maxFailures <= 1 ? lockUntil : null })
    .onConflictDoUpdate({
      target: loginThrottle.key,
      set: {
        failures: next,
        windowStart: sql`CASE WHEN ${stale} THEN ${now} ELSE ${loginThrottle.windowStart} END`,
        lockedUntil: sql`CASE WHEN ${next} >= ${policy.maxFailures} THEN ${lockUntil} ELSE ${loginThrottle.lockedUntil} END`,
      },
    })
    .returning({ lockedUntil: loginThrottle.lockedUntil });
  return row?.lockedUntil != null && row.lockedUntil > now ? row.lockedUntil : null;
}
