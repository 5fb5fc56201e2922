/**
 * Turns one log entry from the platform into the connector's row: the payload decrypted (by kid) and flattened for the
 * full-text index, the signature verified against the organisation's signing keys. Pure over its inputs.
 */
import type { JsonValue } from '../../../lib/records/canonical.ts';
import { looksLikeJwe, openPayload, type DecryptionKeys } from '../../../lib/records/open.ts';
import { verifyRecordSignature, type SigningKeyLookup } from '../../../lib/records/signature.ts';
import type { RecordView } from '../../../lib/records/view.ts';

/** A row of `records`, as written. */
export type RecordRow = {
  id: string;
  kind: string;
  device_id: string | null;
  user_id: string | null;
  type: string;
  time: string;
  time_ms: number;
  received_at: string;
  size: number;
  enc_kid: string | null;
  payload: string | null;
  body: string | null;
  decrypt_status: 'ok' | 'plain' | 'failed';
  decrypt_error: string | null;
  ciphertext: string | null;
  signature: string | null;
  sig_kid: string | null;
  sig_status: 'none' | 'valid' | 'invalid' | 'unknown_kid';
  sig_detail: string | null;
};

const MAX_BODY_CHARS = 32_768;

/** The payload as text for FTS5: keys and leaf values in document order, e.g. `temperature 81.5 site north hall`. */
export function flatten(value: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 32 || v === null || v === undefined) return;
    if (Array.isArray(v)) v.forEach((x) => walk(x, depth + 1));
    else if (typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        out.push(k);
        walk(x, depth + 1);
      }
    } else out.push(String(v));
  };
  walk(value, 0);
  return out.join(' ').slice(0, MAX_BODY_CHARS);
}

/** The decrypted part of a row, for an entry's payload. */
export async function openRow(entry: Pick<RecordView, 'id' | 'kind' | 'type' | 'time' | 'payload'>, keys: DecryptionKeys): Promise<Pick<RecordRow, 'payload' | 'body' | 'decrypt_status' | 'decrypt_error' | 'ciphertext'>> {
  // Events of an organisation's devices are JWEs; a record appended encrypted carries a JWE string as its JSON payload.
  if (!looksLikeJwe(entry.payload)) {
    const payload = JSON.stringify(entry.payload ?? null);
    return { payload, body: flatten(entry.payload), decrypt_status: 'plain', decrypt_error: null, ciphertext: null };
  }
  const opened = await openPayload(entry.payload, keys, entry.kind === 'event' ? { id: entry.id, type: entry.type, time: entry.time } : undefined);
  if (!opened.ok) return { payload: null, body: null, decrypt_status: 'failed', decrypt_error: `${opened.reason}: ${opened.detail}`, ciphertext: entry.payload };
  return { payload: JSON.stringify(opened.value), body: flatten(opened.value), decrypt_status: 'ok', decrypt_error: null, ciphertext: null };
}

/** The row for one entry. */
export async function rowOf(entry: RecordView, keys: DecryptionKeys, signingKey: SigningKeyLookup): Promise<RecordRow> {
  let sig: Pick<RecordRow, 'sig_status' | 'sig_detail' | 'sig_kid'> = { sig_status: 'none', sig_detail: null, sig_kid: entry.sigKid };
  if (entry.signature) {
    const check = await verifyRecordSignature({ id: entry.id, orgId: entry.orgId ?? '', type: entry.type, time: entry.time, payload: entry.payload as JsonValue }, entry.signature, signingKey);
    sig = check.ok
      ? { sig_status: 'valid', sig_detail: null, sig_kid: check.kid }
      : { sig_status: check.reason === 'unknown_kid' ? 'unknown_kid' : 'invalid', sig_detail: check.detail, sig_kid: entry.sigKid };
  }
  const timeMs = Date.parse(entry.time);
  return {
    id: entry.id,
    kind: entry.kind,
    device_id: entry.deviceId,
    user_id: entry.userId,
    type: entry.type,
    time: entry.time,
    time_ms: Number.isFinite(timeMs) ? timeMs : Date.parse(entry.receivedAt),
    received_at: entry.receivedAt,
    size: entry.size,
    enc_kid: entry.encKid,
    ...(await openRow(entry, keys)),
    signature: entry.signature,
    ...sig,
  };
}
