import { and, eq, gt, lt, sql } from 'drizzle-orm';
import { sha256Hex, timingSafeEqual } from '../../../lib/encoding.ts';
import { verificationCodes } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

/** What an emailed code is for. */
export type CodePurpose = (typeof verificationCodes.$inferInsert)['purpose'];

/** Emailed codes live 24 hours, as Cognito's sign-up codes do. */
export const CODE_TTL_MS = 24 * 3600 * 1000;

/** Wrong guesses allowed per code before it stops working (a fresh code must be requested). */
export const MAX_CODE_ATTEMPTS = 5;

/** A new code is not minted (nor mailed) within this long of the last one, which bounds mail floods and guess resets. */
export const CODE_RESEND_INTERVAL_MS = 30 * 1000;

/** A uniformly random 6-digit code (rejection sampling avoids modulo bias). */
export function newVerificationCode(): string {
  const limit = 4_294_000_000; // the largest multiple of 10^6 below 2^32
  for (;;) {
    const [n = limit] = crypto.getRandomValues(new Uint32Array(1));
    if (n < limit) return String(n % 1_000_000).padStart(6, '0');
  }
}

/** Binding the hash to user and purpose keeps a code from being valid anywhere else. */
const codeHash = (userId: string, purpose: CodePurpose, code: string) => sha256Hex(`${purpose}:${userId}:${code}`);

/**
 * Replaces the user's code for a purpose with a fresh one and returns it, or returns undefined when the last code is
 * younger than CODE_RESEND_INTERVAL_MS (the conditional upsert then changes nothing). Only the SHA-256 is stored.
 */
export async function issueVerificationCode(db: Database, userId: string, purpose: CodePurpose, now = Date.now()): Promise<string | undefined> {
  const code = newVerificationCode();
  const values = { userId, purpose, codeHash: await codeHash(userId, purpose, code), attempts: 0, expiresAt: now + CODE_TTL_MS, createdAt: now };
  const rows = await db
    .insert(verificationCodes)
    .values(values)
    .onConflictDoUpdate({
      target: [verificationCodes.userId, verificationCodes.purpose],
      set: { codeHash: values.codeHash, attempts: 0, expiresAt: values.expiresAt, createdAt: now },
      setWhere: lt(verificationCodes.createdAt, now - CODE_RESEND_INTERVAL_MS),
    })
    .returning({ userId: verificationCodes.userId });
  return rows.length > 0 ? code : undefined;
}

/**
 * Checks a code and consumes it on success. The attempt is counted first by a conditional UPDATE (so parallel guesses
 * cannot exceed MAX_CODE_ATTEMPTS), the hash is compared in constant time, and a conditional DELETE … RETURNING makes
 * the code single-use: of two parallel correct submissions only one succeeds.
 */
export async function consumeVerificationCode(db: Database, userId: string, purpose: CodePurpose, code: string, now = Date.now()): Promise<boolean> {
  const key = and(eq(verificationCodes.userId, userId), eq(verificationCodes.purpose, purpose));
  const [row] = await db
    .update(verificationCodes)
    .set({ attempts: sql`${verificationCodes.attempts} + 1` })
    .where(and(key, lt(verificationCodes.attempts, MAX_CODE_ATTEMPTS), gt(verificationCodes.expiresAt, now)))
    .returning({ codeHash: verificationCodes.codeHash });
  if (!row || !timingSafeEqual(await codeHash(userId, purpose, code), row.codeHash)) return false;
  const consumed = await db
    .delete(verificationCodes)
    .where(and(key, eq(verificationCodes.codeHash, row.codeHash)))
    .returning({ userId: verificationCodes.userId });
  return consumed.length > 0;
}
