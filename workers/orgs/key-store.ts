import { and, desc, eq, ne, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { Problem } from '../../lib/errors.ts';
import { sameKeyMaterial, type KeyUse, type PublicJwk } from '../../lib/records/jwk.ts';
import { orgKeys } from '../../schema/index.ts';
import { auditEntry, type AdminActor } from '../auth/store/client-admin.ts';
import type { Database } from '../db.ts';
import type { orgKeys as orgKeysSchema } from './schemas.ts';

/** An organisation's keys as the API shows them. */
export type OrgKeysView = z.output<typeof orgKeysSchema>;

/** A stored key row. */
export type OrgKeyRow = typeof orgKeys.$inferSelect;

/** Every key of an organisation (active and retired), newest first. */
export const listOrgKeys = (db: Database, orgId: string): Promise<OrgKeyRow[]> => db.select().from(orgKeys).where(eq(orgKeys.orgId, orgId)).orderBy(desc(orgKeys.createdAt), desc(orgKeys.kid));

/** The keys of one use, for checking a JWE `kid` or a JWS `kid`. */
export const keysOfUse = (db: Database, orgId: string, use: KeyUse): Promise<OrgKeyRow[]> => db.select().from(orgKeys).where(and(eq(orgKeys.orgId, orgId), eq(orgKeys.use, use)));

/** The API view of key rows, split by use. */
export function keysView(rows: OrgKeyRow[]): OrgKeysView {
  const view = (r: OrgKeyRow) => ({ kid: r.kid, use: r.use, status: r.status, jwk: r.jwk, createdAt: new Date(r.createdAt).toISOString(), retiredAt: r.retiredAt === null ? null : new Date(r.retiredAt).toISOString() });
  return { encryption: rows.filter((r) => r.use === 'enc').map(view), signing: rows.filter((r) => r.use === 'sig').map(view) };
}

/**
 * Makes `jwk` the active key of its use: a new `kid` is added, a retired one with the same material is re-activated,
 * the active one stays (no-op), and the previously active key of that use is retired, never deleted, so history stays
 * verifiable and devices holding the old config keep working. A `kid` is never reused for other material (409).
 * One batch, so concurrent rotations still leave exactly one active key per use.
 */
export async function registerKey(db: Database, orgId: string, jwk: PublicJwk, by: AdminActor): Promise<'added' | 'reactivated' | 'unchanged'> {
  const existing = await db.query.orgKeys.findFirst({ where: and(eq(orgKeys.orgId, orgId), eq(orgKeys.kid, jwk.kid)) });
  if (existing && (existing.use !== jwk.use || !sameKeyMaterial(existing.jwk as PublicJwk, jwk))) {
    throw new Problem(409, 'Conflict', { detail: `kid "${jwk.kid}" is already registered for another key; a kid is never reused, choose a new one.`, type: 'urn:gatehouse:problem:conflict' });
  }
  if (existing?.status === 'active') return 'unchanged';
  const now = Date.now();
  await db.batch([
    db.update(orgKeys).set({ status: 'retired', retiredAt: now }).where(and(eq(orgKeys.orgId, orgId), eq(orgKeys.use, jwk.use), eq(orgKeys.status, 'active'), ne(orgKeys.kid, jwk.kid))),
    db
      .insert(orgKeys)
      .values({ orgId, kid: jwk.kid, use: jwk.use, jwk, status: 'active', createdBy: by.actor, createdAt: now })
      .onConflictDoUpdate({ target: [orgKeys.orgId, orgKeys.kid], set: { status: 'active', retiredAt: sql`NULL` } }),
    auditEntry(db, by, existing ? 'org.key_reactivate' : 'org.key_register', orgId, { kid: jwk.kid, use: jwk.use, kty: jwk.kty, crv: jwk.crv }),
  ]);
  return existing ? 'reactivated' : 'added';
}

/** The organisation's active encryption key, or undefined before one is registered. */
export async function activeEncryptionKey(db: Database, orgId: string): Promise<OrgKeyRow | undefined> {
  return db.query.orgKeys.findFirst({ where: and(eq(orgKeys.orgId, orgId), eq(orgKeys.use, 'enc'), eq(orgKeys.status, 'active')) });
}
