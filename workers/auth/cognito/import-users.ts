/**
 * Importing users from a Cognito pool export, keeping each user's `sub` as the Gatehouse user id. Cognito never exports
 * password hashes, so a new password user is created without one, status RESET_REQUIRED (a reset by mailed code, or lazy
 * migration at the first sign-in, gives them a password); a federated user (EXTERNAL_PROVIDER) gets its upstream links.
 * Running it again updates attributes and adds groups; an id or email that belongs to someone else fails that entry.
 * Runtime-neutral over the drizzle `Database`, so the CLI uses it locally or through wrangler.
 */
import { eq, inArray, or } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { groups, userGroups, userIdentities, users } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';
import { auditEntry, type AdminActor } from '../store/client-admin.ts';
import { groupsSchema } from '../store/user-admin.ts';
import type { CognitoImportEntry } from './import-format.ts';

/** What happened to one entry. */
export type CognitoImportResult = { outcome: 'imported' | 'updated' | 'skipped' } | { outcome: 'failed'; reason: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** 20 entries per chunk keeps each lookup under D1's 100 bound parameters. */
const CHUNK = 20;

/** Why an entry cannot be imported at all, or undefined. */
function problem(e: CognitoImportEntry): string | undefined {
  if (!e.sub || !UUID.test(e.sub)) return 'no sub attribute (a UUID) in the export';
  if (!e.email || !EMAIL.test(e.email)) return 'no usable email attribute (Gatehouse usernames are email addresses)';
  if (!groupsSchema.safeParse(e.groups).success) return `invalid group name in ${e.groups.join(', ')}`;
  return undefined;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Imports entries chunk by chunk (two lookups and one atomic batch each); `dryRun` checks without writing. */
export async function importCognitoUsers(db: Database, entries: readonly CognitoImportEntry[], by: AdminActor, opts: { dryRun?: boolean; onProgress?: (done: number) => void } = {}): Promise<CognitoImportResult[]> {
  const results: CognitoImportResult[] = [];
  for (let i = 0; i < entries.length; i += CHUNK) {
    results.push(...(await importChunk(db, entries.slice(i, i + CHUNK), by, opts.dryRun ?? false)));
    opts.onProgress?.(results.length);
  }
  return results;
}

async function importChunk(db: Database, chunk: CognitoImportEntry[], by: AdminActor, dryRun: boolean): Promise<CognitoImportResult[]> {
  const ids = chunk.flatMap((e) => (e.sub ? [e.sub] : []));
  const emails = chunk.flatMap((e) => (e.email ? [e.email] : []));
  const existing = ids.length || emails.length ? await db.select().from(users).where(or(inArray(users.id, ids), inArray(users.username, emails))) : [];
  const memberships = ids.length ? await db.select().from(userGroups).where(inArray(userGroups.userId, ids)) : [];
  const byId = new Map(existing.map((u) => [u.id, u]));
  const byEmail = new Map(existing.map((u) => [u.username, u]));
  const now = Date.now();
  const writes: BatchItem<'sqlite'>[] = [];
  const written: number[] = [];
  const results: CognitoImportResult[] = [];
  // Ids and emails this chunk creates, so a user listed twice fails the second time instead of failing the whole batch.
  const inserted = new Set<string>();
  for (const e of chunk) {
    const reason = problem(e);
    const sub = e.sub ?? '';
    const email = e.email ?? '';
    if (reason) {
      results.push({ outcome: 'failed', reason });
      continue;
    }
    if (inserted.has(sub) || inserted.has(email)) {
      results.push({ outcome: 'failed', reason: `duplicate in the export: ${email} / ${sub}` });
      continue;
    }
    const owner = byEmail.get(email);
    const current = byId.get(sub);
    if ((owner && owner.id !== sub) || (current && current.username !== email)) {
      results.push({ outcome: 'failed', reason: `id/email conflict: ${email} or ${sub} already belongs to another user` });
      continue;
    }
    const had = new Set(memberships.filter((m) => m.userId === sub).map((m) => m.groupName));
    const newGroups = [...new Set(e.groups)].filter((g) => !had.has(g));
    const attributes = { ...(current?.attributes ?? {}), ...e.attributes };
    if (current && newGroups.length === 0 && sameJson(attributes, current.attributes)) {
      results.push({ outcome: 'skipped' });
      continue;
    }
    if (current) {
      writes.push(db.update(users).set({ attributes, updatedAt: now }).where(eq(users.id, sub)));
    } else {
      const status = e.federated ? 'EXTERNAL_PROVIDER' : 'RESET_REQUIRED';
      writes.push(db.insert(users).values({ id: sub, username: email, email, emailVerified: e.emailVerified, passwordHash: null, status, enabled: e.enabled, attributes, createdAt: now, updatedAt: now }));
      for (const link of e.identities) {
        writes.push(db.insert(userIdentities).values({ id: crypto.randomUUID(), userId: sub, provider: link.providerName, subject: link.userId, email }).onConflictDoNothing());
      }
      inserted.add(sub).add(email);
    }
    for (const name of newGroups) writes.push(db.insert(groups).values({ name }).onConflictDoNothing(), db.insert(userGroups).values({ userId: sub, groupName: name }).onConflictDoNothing());
    writes.push(auditEntry(db, by, 'user.import', sub, { email, source: 'cognito', groups: newGroups }));
    written.push(results.length);
    results.push({ outcome: current ? 'updated' : 'imported' });
  }
  const [first, ...rest] = writes;
  if (first && !dryRun) {
    try {
      await db.batch([first, ...rest]);
    } catch (err) {
      const message = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
      for (const index of written) results[index] = { outcome: 'failed', reason: `write failed: ${message}` };
    }
  }
  return results;
}
