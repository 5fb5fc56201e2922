/** A stored record as the connector's API returns it (`/records/:id`, `/search`). */

/** The columns read for output. */
export const RECORD_COLUMNS = ['seq', 'id', 'kind', 'device_id', 'user_id', 'type', 'time', 'received_at', 'size', 'enc_kid', 'payload', 'decrypt_status', 'decrypt_error', 'signature', 'sig_kid', 'sig_status', 'sig_detail'] as const;

/** A row with those columns. */
export type StoredRecord = {
  seq: number;
  id: string;
  kind: string;
  device_id: string | null;
  user_id: string | null;
  type: string;
  time: string;
  received_at: string;
  size: number;
  enc_kid: string | null;
  payload: string | null;
  decrypt_status: string;
  decrypt_error: string | null;
  signature: string | null;
  sig_kid: string | null;
  sig_status: string;
  sig_detail: string | null;
};

/** The API shape of a stored record. */
export function recordOut(r: StoredRecord) {
  return {
    id: r.id,
    kind: r.kind,
    deviceId: r.device_id,
    userId: r.user_id,
    type: r.type,
    time: r.time,
    receivedAt: r.received_at,
    size: r.size,
    payload: r.payload === null ? null : (JSON.parse(r.payload) as unknown),
    decryption: { status: r.decrypt_status, kid: r.enc_kid, ...(r.decrypt_error ? { error: r.decrypt_error } : {}) },
    signature: { status: r.sig_status, kid: r.sig_kid, ...(r.sig_detail ? { detail: r.sig_detail } : {}), ...(r.signature ? { jws: r.signature } : {}) },
  };
}
