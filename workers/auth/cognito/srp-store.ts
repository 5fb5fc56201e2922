/**
 * SRP password verifiers in D1 (`srp_verifiers`): written whenever a password is set, read by USER_SRP_AUTH. The salt
 * and verifier are kept Fernet-encrypted because, unlike the PBKDF2 hash, they can be guessed against at SHA-256 speed.
 * Each row is tagged with the SHA-256 of the password hash it was made beside, so a password changed by a path that
 * stored no verifier leaves a stale row that is never used. Runtime-neutral: the Worker and the operator CLI share it.
 */
import { eq } from 'drizzle-orm';
import { fromUtf8, sha256Hex, timingSafeEqual } from '../../../lib/encoding.ts';
import type { MultiFernet } from '../../../lib/fernet.ts';
import { createVerifier, type SrpVerifier } from '../../../lib/srp/verifier.ts';
import { srpVerifiers, users } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

/** A user's usable verifier with the name (`USER_ID_FOR_SRP`) it was computed for. */
export type StoredVerifier = SrpVerifier & { srpUsername: string };

/** What it takes to store a verifier: the user, the name the client will hash (the username), the password and pool name. */
export type VerifierInput = { userId: string; username: string; password: string; poolName: string };

/**
 * Computes and stores the SRP verifier for a password that was just written to `users.password_hash` (call it after
 * the write). Replaces any earlier verifier; does nothing when the user does not exist or has no password hash.
 */
export async function storeSrpVerifier(db: Database, fernet: MultiFernet, input: VerifierInput, now = Date.now()): Promise<boolean> {
  const user = await db.query.users.findFirst({ where: eq(users.id, input.userId), columns: { passwordHash: true } });
  if (!user?.passwordHash) return false;
  const { salt, verifier } = await createVerifier(input.poolName, input.username, input.password);
  const ciphertext = await fernet.encrypt(JSON.stringify({ salt, verifier }));
  const row = { srpUsername: input.username, poolName: input.poolName, passwordTag: await sha256Hex(user.passwordHash), ciphertext, updatedAt: now };
  await db.insert(srpVerifiers).values({ userId: input.userId, ...row }).onConflictDoUpdate({ target: srpVerifiers.userId, set: row });
  return true;
}

/** Whether a row matches the user's current password hash and the pool name. */
async function isCurrent(row: { poolName: string; passwordTag: string }, passwordHash: string | null, poolName: string): Promise<boolean> {
  return passwordHash !== null && row.poolName === poolName && timingSafeEqual(row.passwordTag, await sha256Hex(passwordHash));
}

/** The user's verifier when it is current (same pool name, same password hash), else undefined. */
export async function loadSrpVerifier(
  db: Database,
  fernet: MultiFernet,
  user: { id: string; passwordHash: string | null },
  poolName: string,
): Promise<StoredVerifier | undefined> {
  const row = await db.query.srpVerifiers.findFirst({ where: eq(srpVerifiers.userId, user.id) });
  if (!row || !(await isCurrent(row, user.passwordHash, poolName))) return undefined;
  try {
    const parsed = JSON.parse(fromUtf8(await fernet.decrypt(row.ciphertext))) as Partial<SrpVerifier>;
    if (typeof parsed.salt !== 'string' || typeof parsed.verifier !== 'string') return undefined;
    return { salt: parsed.salt, verifier: parsed.verifier, srpUsername: row.srpUsername };
  } catch {
    return undefined;
  }
}

/**
 * After a password sign-in succeeded: stores a verifier unless a current one exists (users created before SRP, or whose
 * password a path without the hook changed). Costs two indexed reads when the verifier is already current.
 */
export async function ensureSrpVerifier(db: Database, fernet: MultiFernet, input: VerifierInput): Promise<boolean> {
  const [row, user] = await Promise.all([
    db.query.srpVerifiers.findFirst({ where: eq(srpVerifiers.userId, input.userId), columns: { poolName: true, passwordTag: true } }),
    db.query.users.findFirst({ where: eq(users.id, input.userId), columns: { passwordHash: true } }),
  ]);
  if (row && (await isCurrent(row, user?.passwordHash ?? null, input.poolName))) return false;
  return storeSrpVerifier(db, fernet, input);
}
