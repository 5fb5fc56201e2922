import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { randomToken, sha256Hex } from '../../../lib/encoding.ts';
import { refreshTokens, revokedFamilies } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

/** A refresh token's stored grant. */
export type RefreshGrant = typeof refreshTokens.$inferSelect;

/** Why a family was revoked. */
export type RevokeReason = (typeof revokedFamilies.$inferInsert)['reason'];

/** Mints a refresh token in a family; only its SHA-256 is stored. */
export async function issueRefreshToken(
  db: Database,
  grant: { familyId: string; clientId: string; userId: string; scopes: string[]; authTime: number; originJti: string; ttlSeconds: number },
  now = Date.now(),
): Promise<string> {
  const token = randomToken(32);
  const { ttlSeconds, ...rest } = grant;
  await db.insert(refreshTokens).values({ ...rest, tokenHash: await sha256Hex(token), expiresAt: now + ttlSeconds * 1000 });
  return token;
}

/** The result of presenting a refresh token. */
export type RotateResult = { ok: true; grant: RefreshGrant } | { ok: false; reason: 'invalid' | 'reused' };

/**
 * Marks a refresh token rotated, once, with a conditional UPDATE … RETURNING. A token rotated within `graceSeconds`
 * still works (Cognito's RetryGracePeriodSeconds); one rotated earlier is a reuse, and its whole family is revoked.
 */
export async function rotateRefreshToken(db: Database, token: string, clientId: string, graceSeconds: number, now = Date.now()): Promise<RotateResult> {
  const tokenHash = await sha256Hex(token);
  const [grant] = await db
    .update(refreshTokens)
    .set({ rotatedAt: now })
    .where(
      and(eq(refreshTokens.tokenHash, tokenHash), eq(refreshTokens.clientId, clientId), isNull(refreshTokens.rotatedAt), isNull(refreshTokens.revokedAt), gt(refreshTokens.expiresAt, now)),
    )
    .returning();
  if (grant) return { ok: true, grant };
  const row = await db.query.refreshTokens.findFirst({ where: eq(refreshTokens.tokenHash, tokenHash) });
  if (!row || row.clientId !== clientId || row.revokedAt !== null || row.expiresAt <= now || row.rotatedAt === null) {
    return { ok: false, reason: 'invalid' };
  }
  if (now - row.rotatedAt <= graceSeconds * 1000) return { ok: true, grant: row };
  await revokeFamily(db, row.familyId, 'refresh_reuse', row.expiresAt, now);
  return { ok: false, reason: 'reused' };
}

/** Revokes every refresh token of a family and records the family, so its access tokens fail at userinfo too. */
export async function revokeFamily(db: Database, familyId: string, reason: RevokeReason, expiresAt: number, now = Date.now()): Promise<void> {
  await db.batch([
    db.update(refreshTokens).set({ revokedAt: now }).where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt))),
    db
      .insert(revokedFamilies)
      .values({ familyId, reason, expiresAt })
      .onConflictDoUpdate({ target: revokedFamilies.familyId, set: { expiresAt: sql`max(${revokedFamilies.expiresAt}, excluded.expires_at)` } }),
  ]);
}

/** Revokes every family of a user (global sign-out, disable, delete). */
export async function revokeUserFamilies(db: Database, userId: string, reason: RevokeReason, now = Date.now()): Promise<number> {
  const live = await db
    .selectDistinct({ familyId: refreshTokens.familyId, expiresAt: sql<number>`max(${refreshTokens.expiresAt})` })
    .from(refreshTokens)
    .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))
    .groupBy(refreshTokens.familyId);
  for (const f of live) await revokeFamily(db, f.familyId, reason, f.expiresAt, now);
  return live.length;
}

/** Looks up a refresh token (for RFC 7009 revocation, which must not reveal whether it existed). */
export async function findRefreshToken(db: Database, token: string): Promise<RefreshGrant | undefined> {
  return db.query.refreshTokens.findFirst({ where: eq(refreshTokens.tokenHash, await sha256Hex(token)) });
}

/** Whether a token family (an `origin_jti`) has been revoked. */
export async function isFamilyRevoked(db: Database, familyId: string): Promise<boolean> {
  const row = await db.query.revokedFamilies.findFirst({ where: eq(revokedFamilies.familyId, familyId), columns: { familyId: true } });
  return row !== undefined;
}
