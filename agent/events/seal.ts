/**
 * Encrypts an event's data for its organisation, as the Device Gateway expects: a compact JWE (RFC 7516 §7.1) with
 * ECDH-ES+A256KW and A256GCM to the organisation's public key, its `kid`, and `evt` = the event's id, type and time in
 * the protected header, so the connector can tell that the platform did not relabel the ciphertext.
 */
import { CompactEncrypt, importJWK, type JWK } from 'jose';
import { utf8 } from '../../lib/encoding.ts';
import { EVENT_JWE_ALG, EVENT_JWE_ENC } from '../../lib/records/jwe-header.ts';
import type { SpooledEvent } from './spool.ts';

/** The organisation's public encryption key from the config, imported once. */
export type SealingKey = { kid: string; key: CryptoKey | Uint8Array };

/** Imports the config's encryption key. */
export async function sealingKey(encryptionKey: { kid: string; jwk: Record<string, unknown> }): Promise<SealingKey> {
  const { kty, crv, x, y } = encryptionKey.jwk;
  return { kid: encryptionKey.kid, key: await importJWK({ kty, crv, x, y } as JWK, EVENT_JWE_ALG) };
}

/** The event's payload: the JWE of its data for an organisation's device, the data itself otherwise. */
export async function payloadOf(event: SpooledEvent, key: SealingKey | null): Promise<unknown> {
  if (!key) return event.data;
  const evt = { id: event.id, type: event.type, time: event.time };
  return new CompactEncrypt(utf8(JSON.stringify(event.data)))
    .setProtectedHeader({ alg: EVENT_JWE_ALG, enc: EVENT_JWE_ENC, kid: key.kid, cty: 'application/json', evt })
    .encrypt(key.key);
}
