import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { LoadedCa } from './ca.ts';
import { encodeUnsignedInteger } from './der.ts';
import { PkiInputInvalid } from './errors.ts';
import { canonicalSerialHex } from './ids.ts';

/** RFC 5280 §5.3.1 CRLReason codes by name (7 is unused; these names are also the values stored in D1). */
export const CRL_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

/** A revocation reason name. */
export type CrlReason = keyof typeof CRL_REASONS;

/** True when `name` is a CRL reason, for validating admin input. */
export const isCrlReason = (name: string): name is CrlReason => Object.hasOwn(CRL_REASONS, name);

/** One revoked certificate. */
export type RevokedEntry = { serialHex: string; revokedAt: Date; reason: CrlReason };

/** Inputs of a CRL: the revoked certificates, the update window and the monotonically increasing CRL number. */
export type CrlParams = {
  ca: LoadedCa;
  revoked: readonly RevokedEntry[];
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: bigint | number;
};

const OID_CRL_NUMBER = '2.5.29.20';
// RFC 5280 §5.2.3: CRL numbers are at most 20 octets.
const MAX_CRL_NUMBER = (1n << 159n) - 1n;

/**
 * Builds a v2 CRL (RFC 5280 §5.1) signed by the issuing CA, with the CRL Number and Authority Key Identifier
 * extensions (§5.2.3, §5.2.1) and a reasonCode entry extension for every reason except `unspecified`, which
 * §5.3.1 says to express by leaving the extension out. Returns DER, as `GET /pki/crl` serves it.
 */
export async function buildCrl(params: CrlParams): Promise<Uint8Array<ArrayBuffer>> {
  const { ca, thisUpdate, nextUpdate } = params;
  const crlNumber = BigInt(params.crlNumber);
  if (crlNumber < 0n || crlNumber > MAX_CRL_NUMBER) throw new PkiInputInvalid('crlNumber');
  if (!(nextUpdate.getTime() > thisUpdate.getTime())) throw new PkiInputInvalid('nextUpdate must follow thisUpdate');

  const seen = new Set<string>();
  const entries: x509.X509CrlEntryParams[] = [];
  for (const entry of params.revoked) {
    const serial = canonicalSerialHex(entry.serialHex);
    if (serial === null) throw new PkiInputInvalid(`serial ${entry.serialHex}`);
    if (!isCrlReason(entry.reason)) throw new PkiInputInvalid(`reason ${String(entry.reason)}`);
    // A certificate revoked twice (two admin calls) appears once; the generator would otherwise throw.
    if (seen.has(serial)) continue;
    seen.add(serial);
    entries.push({ serialNumber: serial, revocationDate: entry.revokedAt, reason: CRL_REASONS[entry.reason] });
  }

  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate,
    nextUpdate,
    signingAlgorithm: ca.signingAlgorithm,
    signingKey: ca.privateKey,
    entries,
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(ca.keyIdHex, false),
      new x509.Extension(OID_CRL_NUMBER, false, encodeUnsignedInteger(crlNumber)),
    ],
  });
  return new Uint8Array(crl.rawData);
}
