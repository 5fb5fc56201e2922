import { and, eq, isNull } from 'drizzle-orm';
import { randomToken, sha256Hex } from '../../../lib/encoding.ts';
import { authCodes } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

/** Authorization codes live five minutes (RFC 6749 §4.1.2 recommends at most ten). */
export const AUTH_CODE_TTL_MS = 5 * 60 * 1000;

/** An authorization code's stored grant. */
export type AuthCodeGrant = typeof authCodes.$inferSelect;

/** What an authorization code grants. */
export type NewAuthCode = Omit<AuthCodeGrant, 'codeHash' | 'familyId' | 'expiresAt' | 'usedAt' | 'createdAt'>;

/** Creates a code and returns it; only its SHA-256 is stored. Each code starts a new token family. */
export async function issueAuthCode(db: Database, grant: NewAuthCode, now = Date.now()): Promise<string> {
  const code = randomToken(32);
  await db.insert(authCodes).values({
    ...grant,
    codeHash: await sha256Hex(code),
    familyId: crypto.randomUUID(),
    expiresAt: now + AUTH_CODE_TTL_MS,
  });
  return code;
}

/** The result of redeeming a code: its grant, or why not (a replay names the family to revoke). */
export type RedeemResult =
  | { ok: true; grant: AuthCodeGrant }
  | { ok: false; reason: 'unknown' | 'expired' }
  | { ok: false; reason: 'replayed'; familyId: string };

/**
 * Redeems a code exactly once: one conditional UPDATE … RETURNING marks it used, so of two parallel redemptions
 * only one gets the row. A later attempt finds it used, which is a replay (RFC 6749 §4.1.2).
 */
export async function redeemAuthCode(db: Database, code: string, now = Date.now()): Promise<RedeemResult> {
  const codeHash = await sha256Hex(code);
  const [grant] = await db
    .update(authCodes)
    .set({ usedAt: now })
    .where(and(eq(authCodes.codeHash, codeHash), isNull(authCodes.usedAt)))
    .returning();
  if (grant) return grant.expiresAt <= now ? { ok: false, reason: 'expired' } : { ok: true, grant };
  const used = await db.query.authCodes.findFirst({ where: eq(authCodes.codeHash, codeHash), columns: { familyId: true } });
  return used ? { ok: false, reason: 'replayed', familyId: used.familyId } : { ok: false, reason: 'unknown' };
}
