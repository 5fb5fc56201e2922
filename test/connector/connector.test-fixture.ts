/**
 * Helpers for the connector's workerd tests: log entries as the platform serves them (payloads encrypted to the
 * organisation's key, or to a key the connector does not hold), written through the real replication write path.
 */
import { env, exports } from 'cloudflare:workers';
import { importJWK, type JWK } from 'jose';
import { EVENT_JWE_ALG } from '../../lib/records/jwe-header.ts';
import { sealPayload } from '../../lib/records/open.ts';
import type { RecordView } from '../../lib/records/view.ts';
import { loadConfig } from '../../workers/connector/config.ts';
import { orgKeys } from '../../workers/connector/keys.ts';
import { rowOf } from '../../workers/connector/replication/row.ts';
import { writePage } from '../../workers/connector/replication/store.ts';

/** Imports the public half of a private JWK for sealing. */
export async function sealingKeyOf(privateJwk: string): Promise<{ kid: string; key: CryptoKey | Uint8Array }> {
  const { kty, crv, x, y, kid } = JSON.parse(privateJwk) as JWK & { kid: string };
  return { kid, key: await importJWK({ kty, crv, x, y }, EVENT_JWE_ALG) };
}

/** The nth encryption key of ORG_ENCRYPTION_KEYS, public half. */
export const orgKey = async (n = 0) => sealingKeyOf(JSON.stringify((JSON.parse(env.ORG_ENCRYPTION_KEYS) as unknown[])[n]));

/** A device event as the platform serves it, its payload sealed to `key`. */
export async function event(fields: { id: string; type: string; time: string; deviceId: string; data: unknown }, key: { kid: string; key: CryptoKey | Uint8Array }): Promise<RecordView> {
  const evt = { id: fields.id, type: fields.type, time: fields.time };
  const payload = await sealPayload(fields.data, key, evt);
  return { ...evt, kind: 'event', orgId: env.ORG_ID, deviceId: fields.deviceId, userId: null, receivedAt: new Date().toISOString(), payloadFormat: 'jwe', payload, encKid: key.kid, signature: null, sigKid: null, size: payload.length };
}

/** Writes entries through the replication write path (decrypt, verify, one batch with the cursor). */
export async function replicate(entries: RecordView[], cursor = `test-${crypto.randomUUID()}`): Promise<number> {
  const keys = await orgKeys(env);
  const rows = [];
  for (const e of entries) rows.push(await rowOf(e, keys.decryption, () => undefined));
  return writePage(env.DB, loadConfig(env).rules, rows, cursor);
}

/** A GET on the connector (authentication is off in these tests). */
export async function get<T = Record<string, unknown>>(path: string): Promise<{ status: number; body: T }> {
  const res = await exports.default.fetch(`https://connector.test${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

/** A unique prefix, so tests sharing the one database do not see each other's rows. */
export const unique = () => `u${crypto.randomUUID().replaceAll('-', '').slice(0, 10)}`;
