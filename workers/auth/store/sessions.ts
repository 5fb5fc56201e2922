import { and, eq, gt, isNull } from 'drizzle-orm';
import { randomToken, sha256Hex } from '../../../lib/encoding.ts';
import { loginSessions } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

/** A hosted-page login session row. */
export type LoginSession = typeof loginSessions.$inferSelect;

/** Starts a login session and returns its id (256 random bits); only the id's SHA-256 is stored. */
export async function createLoginSession(
  db: Database,
  input: { userId: string; authTime: number; ttlSeconds: number },
  now = Date.now(),
): Promise<{ id: string; session: LoginSession }> {
  const id = randomToken(32);
  const [session] = await db
    .insert(loginSessions)
    .values({ idHash: await sha256Hex(id), userId: input.userId, authTime: input.authTime, expiresAt: now + input.ttlSeconds * 1000, createdAt: now })
    .returning();
  if (!session) throw new Error('insert returned no row');
  return { id, session };
}

/** The session behind an id, if it is neither revoked nor expired. */
export async function findLiveSession(db: Database, id: string, now = Date.now()): Promise<LoginSession | undefined> {
  return db.query.loginSessions.findFirst({
    where: and(eq(loginSessions.idHash, await sha256Hex(id)), isNull(loginSessions.revokedAt), gt(loginSessions.expiresAt, now)),
  });
}

/** Revokes one session (logout); true when a live session was revoked. */
export async function revokeLoginSession(db: Database, id: string, now = Date.now()): Promise<boolean> {
  const rows = await db
    .update(loginSessions)
    .set({ revokedAt: now })
    .where(and(eq(loginSessions.idHash, await sha256Hex(id)), isNull(loginSessions.revokedAt)))
    .returning({ idHash: loginSessions.idHash });
  return rows.length > 0;
}

/** Revokes every live session of a user (password reset, disable); returns how many. */
export async function revokeUserSessions(db: Database, userId: string, now = Date.now()): Promise<number> {
  const rows = await db
    .update(loginSessions)
    .set({ revokedAt: now })
    .where(and(eq(loginSessions.userId, userId), isNull(loginSessions.revokedAt)))
    .returning({ idHash: loginSessions.idHash });
  return rows.length;
}
