import { and, eq, gt, sql } from 'drizzle-orm';
import { base64ToBytes, bytesToBase64 } from '../../../lib/encoding.ts';
import type { LoadedCa } from '../../../lib/pki/ca.ts';
import { buildCrl, isCrlReason, type RevokedEntry } from '../../../lib/pki/crl.ts';
import { crlState, deviceCertificates } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

/** A CRL as served: DER, its window and its number. */
export type CurrentCrl = { der: Uint8Array<ArrayBuffer>; thisUpdate: Date; nextUpdate: Date; crlNumber: number };

type StateRow = typeof crlState.$inferSelect;

/** The statement that marks every cached CRL out of date; put it in the batch that revokes. */
export const bumpCrlRevision = (db: Database) => db.update(crlState).set({ revision: sql`${crlState.revision} + 1` });

const toCrl = (row: StateRow): CurrentCrl | null =>
  row.der && row.thisUpdate !== null && row.nextUpdate !== null
    ? { der: base64ToBytes(row.der), thisUpdate: new Date(row.thisUpdate), nextUpdate: new Date(row.nextUpdate), crlNumber: row.crlNumber }
    : null;

/** A cached CRL is served until a revocation lands or half its validity has passed (so relying parties never hold an expired one). */
function isCurrent(row: StateRow | undefined, now: number): row is StateRow & { der: string } {
  if (!row?.der || row.thisUpdate === null || row.nextUpdate === null) return false;
  return row.builtRevision === row.revision && now < row.thisUpdate + (row.nextUpdate - row.thisUpdate) / 2;
}

async function revokedEntries(db: Database, validityMs: number, now: number): Promise<RevokedEntry[]> {
  // RFC 5280 §3.3: an entry may leave the CRL once a regularly scheduled CRL beyond the certificate's expiry has listed it.
  const rows = await db
    .select({ serial: deviceCertificates.serial, revokedAt: deviceCertificates.revokedAt, reason: deviceCertificates.revocationReason })
    .from(deviceCertificates)
    .where(and(eq(deviceCertificates.status, 'revoked'), gt(deviceCertificates.notAfter, now - validityMs)));
  return rows.map((r) => ({
    serialHex: r.serial,
    revokedAt: new Date(r.revokedAt ?? now),
    reason: r.reason && isCrlReason(r.reason) ? r.reason : 'unspecified',
  }));
}

/**
 * The issuing CA's current CRL, rebuilt when a revocation made the cached one stale or it is half-way to nextUpdate.
 * The CRL Number increases by one per rebuild (RFC 5280 §5.2.3): the write is conditional on the number it read, so of
 * two parallel rebuilds one stores its CRL and the other serves that one instead of its own.
 */
export async function currentCrl(db: Database, ca: LoadedCa, validityMs: number, now = Date.now()): Promise<CurrentCrl> {
  const issuerKeyId = ca.keyIdHex;
  for (let attempt = 0; ; attempt++) {
    const state = await db.query.crlState.findFirst({ where: eq(crlState.issuerKeyId, issuerKeyId) });
    if (isCurrent(state, now)) {
      const served = toCrl(state);
      if (served) return served;
    }
    // Read the revision before the entries: a revocation committed after this read bumps it again, so it is never lost.
    const revision = state?.revision ?? 0;
    const previous = state?.crlNumber ?? 0;
    const thisUpdate = new Date(Math.floor(now / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + validityMs);
    const der = await buildCrl({ ca, revoked: await revokedEntries(db, validityMs, now), thisUpdate, nextUpdate, crlNumber: previous + 1 });
    const values = {
      crlNumber: previous + 1,
      builtRevision: revision,
      der: bytesToBase64(der),
      thisUpdate: thisUpdate.getTime(),
      nextUpdate: nextUpdate.getTime(),
    };
    const written = state
      ? await db
          .update(crlState)
          .set(values)
          .where(and(eq(crlState.issuerKeyId, issuerKeyId), eq(crlState.crlNumber, previous)))
          .returning({ n: crlState.crlNumber })
      : await db.insert(crlState).values({ issuerKeyId, revision, ...values }).onConflictDoNothing().returning({ n: crlState.crlNumber });
    if (written.length === 1) return { der, thisUpdate, nextUpdate, crlNumber: previous + 1 };
    // Lost the race: another request stored a CRL with this number. Serve whatever is stored now (or rebuild once more).
    if (attempt >= 2) throw new Error('CRL state kept changing under three rebuilds');
  }
}
