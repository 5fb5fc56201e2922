import { eq, lt } from 'drizzle-orm';
import { sha256Hex } from '../../../lib/encoding.ts';
import { federationStates, type FEDERATION_ORIGINS } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';
import { FLOW_TTL_SECONDS } from './browser-binding.ts';

/** A pending upstream sign-in, as the callback reads it back. */
export type PendingFederation = {
  provider: string;
  browserHash: string;
  origin: (typeof FEDERATION_ORIGINS)[number];
  /** The sealed authorize request to complete, or null for a sign-in started on /login without an app. */
  request: string | null;
};

/**
 * Records a pending upstream sign-in under the SHA-256 of its state, and sweeps expired rows in the same batch (the
 * index on `expires_at` keeps that cheap), so the table holds only sign-ins of the last ten minutes.
 */
export async function savePendingFederation(db: Database, state: string, pending: PendingFederation, now = Date.now()): Promise<void> {
  await db.batch([
    db.delete(federationStates).where(lt(federationStates.expiresAt, now)),
    db.insert(federationStates).values({ stateHash: await sha256Hex(state), ...pending, createdAt: now, expiresAt: now + FLOW_TTL_SECONDS * 1000 }),
  ]);
}

/**
 * Takes a pending sign-in by its state, exactly once: one DELETE … RETURNING, so of two callbacks with the same state
 * only one gets the row. Unknown, replayed and expired states all read as undefined.
 */
export async function takePendingFederation(db: Database, state: string, now = Date.now()): Promise<PendingFederation | undefined> {
  const [row] = await db.delete(federationStates).where(eq(federationStates.stateHash, await sha256Hex(state))).returning();
  if (!row || row.expiresAt <= now) return undefined;
  return { provider: row.provider, browserHash: row.browserHash, origin: row.origin, request: row.request };
}
