import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { at } from './columns.ts';

/**
 * The cached CRL of each issuing CA (`GET /pki/crl`) and its CRL number. Revocations bump `revision`; the cached CRL is
 * current while `built_revision` equals it and `next_update` is ahead, otherwise the next request rebuilds it.
 */
export const crlState = sqliteTable('crl_state', {
  /** Key identifier (hex) of the issuing CA: each CA numbers its own CRLs (RFC 5280 §5.2.3). */
  issuerKeyId: text('issuer_key_id').primaryKey(),
  /** The CRL Number of `der`; the next CRL takes this plus one. */
  crlNumber: integer('crl_number').notNull().default(0),
  /** Incremented by every revocation, in the same batch that revokes. */
  revision: integer('revision').notNull().default(0),
  /** The `revision` that `der` reflects. */
  builtRevision: integer('built_revision').notNull().default(-1),
  /** The DER CRL, base64. */
  der: text('der'),
  thisUpdate: at('this_update'),
  nextUpdate: at('next_update'),
});
