/**
 * Administration of users' Hasura claims, stored as Fernet tokens in `user_claims`: read, replace, set roles, re-encrypt
 * every row under the primary key (MultiFernet rotation), and import users with their claims (the Moped table). Runtime-neutral
 * over the drizzle `Database`; the plaintext never reaches storage or the audit log.
 */
import { and, asc, eq, gt, inArray, or } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { z } from 'zod';
import { Problem } from '../../../lib/errors.ts';
import { InvalidFernetToken, type MultiFernet } from '../../../lib/fernet.ts';
import { userClaims, users } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';
import { auditEntry, invalid, notFound, type AdminActor } from './client-admin.ts';

const USER_ID = 'x-hasura-user-id';
const DEFAULT_ROLE = 'x-hasura-default-role';
const ALLOWED_ROLES = 'x-hasura-allowed-roles';
const RESERVED = new Set([USER_ID, DEFAULT_ROLE, ALLOWED_ROLES]);
const MAX_CLAIMS_BYTES = 16 * 1024;

const role = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'is not a valid role name');

/** Roles, a default role among them, and extra `x-hasura-*` claims (the three reserved names are set through roles). */
export const claimsInputSchema = z
  .object({
    roles: z.array(role).max(50).transform((roles) => [...new Set(roles)]),
    defaultRole: role.optional(),
    claims: z.record(z.string().regex(/^x-hasura-[A-Za-z0-9_-]+$/, 'must be an x-hasura-* name'), z.string().max(1024)).default({}),
  })
  .superRefine((input, ctx) => {
    if (input.defaultRole !== undefined && !input.roles.includes(input.defaultRole)) {
      ctx.addIssue({ code: 'custom', path: ['defaultRole'], message: `${input.defaultRole} is not one of the roles` });
    }
    for (const name of Object.keys(input.claims)) {
      if (RESERVED.has(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['claims', name], message: 'is set from the user id and roles' });
    }
  });

/** Roles and extra claims as an operator gives them. */
export type ClaimsInput = z.input<typeof claimsInputSchema>;

const lookup = (claims: Readonly<Record<string, unknown>>, name: string): unknown =>
  Object.entries(claims).find(([key]) => key.toLowerCase() === name)?.[1];

/**
 * Builds stored claims: `x-hasura-user-id` (kept, else the user's id), the default and allowed roles when roles are given,
 * then every other claim already stored, then the extra claims given.
 */
export function buildRoleClaims(current: Readonly<Record<string, unknown>> | null, userId: string, input: z.output<typeof claimsInputSchema>): Record<string, unknown> {
  const existing = current ?? {};
  const out: Record<string, unknown> = { [USER_ID]: lookup(existing, USER_ID) ?? userId };
  if (input.roles.length > 0) {
    const currentDefault = lookup(existing, DEFAULT_ROLE);
    const keep = typeof currentDefault === 'string' && input.roles.includes(currentDefault) ? currentDefault : undefined;
    out[DEFAULT_ROLE] = input.defaultRole ?? keep ?? input.roles[0];
    out[ALLOWED_ROLES] = input.roles;
  }
  for (const [key, value] of Object.entries(existing)) if (!RESERVED.has(key.toLowerCase())) out[key] = value;
  for (const [key, value] of Object.entries(input.claims)) out[key.toLowerCase()] = value;
  return out;
}

/** A user's stored claims: none, decrypted, or present but unreadable with the current keys (and why). */
export type StoredClaims = { state: 'none' } | { state: 'ok'; claims: Record<string, unknown> } | { state: 'unreadable'; reason: string };

/** Why a claims token could not be opened, in words an operator can act on (never the token or a key). */
export function claimsFailure(err: unknown): string {
  if (err instanceof InvalidFernetToken) {
    return err.reason === 'signature' ? 'no key can decrypt it (signature mismatch)' : `not a valid Fernet token (${err.reason})`;
  }
  return err instanceof SyntaxError ? 'decrypted, but not JSON' : 'decrypted, but not a JSON object';
}

/** Decrypts and parses a claims token; throws `InvalidFernetToken`, `SyntaxError` or `TypeError` (see `claimsFailure`). */
export async function openClaims(fernet: MultiFernet, token: string): Promise<Record<string, unknown>> {
  const parsed: unknown = JSON.parse(await fernet.decryptText(token));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('claims are not a JSON object');
  return parsed as Record<string, unknown>;
}

/** Reads and decrypts a user's stored claims. */
export async function readUserClaims(db: Database, fernet: MultiFernet, userId: string): Promise<StoredClaims> {
  const row = await db.query.userClaims.findFirst({ where: eq(userClaims.userId, userId) });
  if (!row) return { state: 'none' };
  try {
    return { state: 'ok', claims: await openClaims(fernet, row.ciphertext) };
  } catch (err) {
    return { state: 'unreadable', reason: claimsFailure(err) };
  }
}

/** Encrypts claims under the primary key, refusing oversized ones. */
async function encryptClaims(fernet: MultiFernet, claims: Record<string, unknown>): Promise<string> {
  const text = JSON.stringify(claims);
  if (new TextEncoder().encode(text).length > MAX_CLAIMS_BYTES) throw new Problem(400, 'Bad Request', { detail: `claims are larger than ${MAX_CLAIMS_BYTES} bytes` });
  return fernet.encrypt(text);
}

/** The upsert that stores a claims token, for use inside a batch (a builder: never return it from an async function). */
const claimsUpsert = (db: Database, userId: string, ciphertext: string, now = Date.now()) =>
  db.insert(userClaims).values({ userId, ciphertext, updatedAt: now }).onConflictDoUpdate({ target: userClaims.userId, set: { ciphertext, updatedAt: now } });

async function userIdByEmail(db: Database, email: string): Promise<string> {
  const username = email.trim().toLowerCase();
  const row = await db.query.users.findFirst({ where: eq(users.username, username), columns: { id: true } });
  if (!row) throw notFound(`no user ${username}`);
  return row.id;
}

/** Replaces a user's claims with the given JSON object. */
export async function setUserClaims(db: Database, fernet: MultiFernet, email: string, claims: Record<string, unknown>, by: AdminActor): Promise<Record<string, unknown>> {
  const userId = await userIdByEmail(db, email);
  const ciphertext = await encryptClaims(fernet, claims);
  await db.batch([claimsUpsert(db, userId, ciphertext), auditEntry(db, by, 'user.set_claims', userId, { names: Object.keys(claims) })]);
  return claims;
}

/** Sets a user's allowed and default roles, keeping `x-hasura-user-id` and every other stored `x-hasura-*` value. */
export async function setUserRoles(db: Database, fernet: MultiFernet, email: string, input: { roles: string[]; defaultRole?: string }, by: AdminActor): Promise<Record<string, unknown>> {
  const parsed = claimsInputSchema.safeParse({ ...input, claims: {} });
  if (!parsed.success) throw invalid('roles', parsed.error);
  if (parsed.data.roles.length === 0) throw new Problem(400, 'Bad Request', { detail: 'give at least one role' });
  const userId = await userIdByEmail(db, email);
  const current = await readUserClaims(db, fernet, userId);
  if (current.state === 'unreadable') {
    throw new Problem(409, 'Conflict', { detail: `stored claims of ${email} cannot be read: ${current.reason}; check CLAIMS_FERNET_KEYS`, type: 'urn:gatehouse:problem:conflict' });
  }
  const claims = buildRoleClaims(current.state === 'ok' ? current.claims : null, userId, parsed.data);
  const ciphertext = await encryptClaims(fernet, claims);
  await db.batch([claimsUpsert(db, userId, ciphertext), auditEntry(db, by, 'user.set_roles', userId, { roles: parsed.data.roles })]);
  return claims;
}

/** Progress and outcome of `reencryptAllClaims`. */
export type RotationReport = { processed: number; rotated: number; changedMeanwhile: number; failed: { userId: string; reason: string }[] };

/**
 * Re-encrypts every `user_claims` row under the primary key (MultiFernet.rotate, which keeps each token's timestamp), in
 * batches by user id. A row no key can open is reported and left as it is; a row changed by someone else meanwhile is left
 * as they wrote it (the conditional UPDATE matches the old ciphertext only).
 */
export async function reencryptAllClaims(
  db: Database,
  fernet: MultiFernet,
  by: AdminActor,
  opts: { batchSize?: number; onProgress?: (report: RotationReport) => void } = {},
): Promise<RotationReport> {
  const report: RotationReport = { processed: 0, rotated: 0, changedMeanwhile: 0, failed: [] };
  const batchSize = opts.batchSize ?? 50;
  let after = '';
  for (;;) {
    const rows = await db.select().from(userClaims).where(gt(userClaims.userId, after)).orderBy(asc(userClaims.userId)).limit(batchSize);
    const last = rows.at(-1);
    if (!last) break;
    const now = Date.now();
    const updates = [];
    for (const row of rows) {
      try {
        const ciphertext = await fernet.rotate(row.ciphertext);
        updates.push(
          db.update(userClaims).set({ ciphertext, updatedAt: now }).where(and(eq(userClaims.userId, row.userId), eq(userClaims.ciphertext, row.ciphertext))).returning({ userId: userClaims.userId }),
        );
      } catch (err) {
        report.failed.push({ userId: row.userId, reason: claimsFailure(err) });
      }
    }
    const [first, ...rest] = updates;
    if (first) {
      const results = await db.batch([first, ...rest]);
      const written = results.filter((rowsWritten) => rowsWritten.length > 0).length;
      report.rotated += written;
      report.changedMeanwhile += results.length - written;
    }
    report.processed += rows.length;
    after = last.userId;
    opts.onProgress?.({ ...report, failed: [...report.failed] });
  }
  await auditEntry(db, by, 'claims.rotate', 'user_claims', { rotated: report.rotated, failed: report.failed.length });
  return report;
}

/** One user to import: the id to keep as `sub`, the email, and the claims to store under the current primary key. */
export type ImportEntry = { id: string; email: string; claims: Record<string, unknown> };

/** What an import did with one entry; a failure carries its reason (an id/email conflict, oversized claims, a failed write). */
export type ImportResult = { outcome: 'imported' | 'updated' | 'skipped' } | { outcome: 'failed'; reason: string };

/** JSON with object keys sorted, so that two claim sets compare equal whatever their key order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );

/** At most 40 entries per chunk keeps each lookup under D1's 100 bound parameters; the byte budget keeps a batch one wrangler command. */
const CHUNK_ENTRIES = 40;
const CHUNK_BYTES = 40_000;

function* chunks(entries: readonly ImportEntry[]): Generator<ImportEntry[]> {
  let chunk: ImportEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = JSON.stringify(entry.claims).length * 2 + 600;
    if (chunk.length > 0 && (chunk.length === CHUNK_ENTRIES || bytes + size > CHUNK_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(entry);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

/** An error's own message, or its cause's for drizzle's "Failed query: … params: …", whose params may hold ciphertext. */
const rootMessage = (err: unknown): string => ((e) => (e instanceof Error ? e.message : String(e)))(err instanceof Error && err.cause instanceof Error ? err.cause : err);

/**
 * Creates or updates users imported from another system, keeping each old id as `sub`. A new user gets status
 * RESET_REQUIRED and no password (the old system never exported hashes); an existing user with the same id and email gets
 * the claims (`updated`) unless they are already identical (`skipped`); an id or email owned by someone else fails.
 * Entries go in chunks: two lookups and one atomic batch each, so a remote import needs few wrangler round trips.
 */
export async function importUsers(
  db: Database,
  fernet: MultiFernet,
  entries: readonly ImportEntry[],
  by: AdminActor,
  opts: { dryRun?: boolean; source?: string; onProgress?: (done: number) => void } = {},
): Promise<ImportResult[]> {
  const results: ImportResult[] = [];
  for (const chunk of chunks(entries)) {
    results.push(...(await importChunk(db, fernet, chunk, by, opts)));
    opts.onProgress?.(results.length);
  }
  return results;
}

async function importChunk(db: Database, fernet: MultiFernet, chunk: ImportEntry[], by: AdminActor, opts: { dryRun?: boolean; source?: string }): Promise<ImportResult[]> {
  const ids = [...new Set(chunk.map((e) => e.id))];
  const emails = [...new Set(chunk.map((e) => e.email.trim().toLowerCase()))];
  const existing = await db.select({ id: users.id, username: users.username }).from(users).where(or(inArray(users.id, ids), inArray(users.username, emails)));
  const stored = await db.select({ userId: userClaims.userId, ciphertext: userClaims.ciphertext }).from(userClaims).where(inArray(userClaims.userId, ids));
  const emailOfId = new Map(existing.map((u) => [u.id, u.username]));
  const idOfEmail = new Map(existing.map((u) => [u.username, u.id]));
  // The canonical claims each user will have after this chunk; null when the stored ones cannot be read (then they are replaced).
  const claimsOf = new Map<string, string | null>();
  for (const row of stored) claimsOf.set(row.userId, await openClaims(fernet, row.ciphertext).then(canonical, () => null));

  const now = Date.now();
  const writes: BatchItem<'sqlite'>[] = [];
  const written: number[] = [];
  const results: ImportResult[] = [];
  for (const entry of chunk) {
    const email = entry.email.trim().toLowerCase();
    const owner = idOfEmail.get(email);
    const knownEmail = emailOfId.get(entry.id);
    if (owner !== undefined && owner !== entry.id) {
      results.push({ outcome: 'failed', reason: `id/email conflict: ${email} already belongs to user ${owner}` });
      continue;
    }
    if (knownEmail !== undefined && knownEmail !== email) {
      results.push({ outcome: 'failed', reason: `id/email conflict: user ${entry.id} already has the email ${knownEmail}` });
      continue;
    }
    const text = canonical(entry.claims);
    if (knownEmail !== undefined && claimsOf.get(entry.id) === text) {
      results.push({ outcome: 'skipped' });
      continue;
    }
    let ciphertext: string;
    try {
      ciphertext = await encryptClaims(fernet, entry.claims);
    } catch (err) {
      results.push({ outcome: 'failed', reason: rootMessage(err) });
      continue;
    }
    if (knownEmail === undefined) {
      writes.push(
        db.insert(users).values({ id: entry.id, username: email, email, emailVerified: true, passwordHash: null, status: 'RESET_REQUIRED', attributes: {}, createdAt: now, updatedAt: now }),
      );
      emailOfId.set(entry.id, email);
      idOfEmail.set(email, entry.id);
    }
    writes.push(claimsUpsert(db, entry.id, ciphertext, now), auditEntry(db, by, 'user.import', entry.id, { email, source: opts.source ?? 'import' }));
    claimsOf.set(entry.id, text);
    written.push(results.length);
    results.push({ outcome: knownEmail === undefined ? 'imported' : 'updated' });
  }

  const [first, ...rest] = writes;
  if (first && !opts.dryRun) {
    try {
      await db.batch([first, ...rest]);
    } catch (err) {
      // The batch is one transaction: none of this chunk's writes happened.
      for (const index of written) results[index] = { outcome: 'failed', reason: `write failed: ${rootMessage(err)}` };
    }
  }
  return results;
}
