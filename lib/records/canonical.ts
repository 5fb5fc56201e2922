/**
 * The canonical form of a signed record: RFC 8785 JSON Canonicalization Scheme (JCS) over `{id, orgId, type, time,
 * payload}`. JCS serialises like ECMAScript's JSON.stringify (numbers, string escapes) with object members sorted by
 * their UTF-16 code units (RFC 8785 §3.2.3), so every runtime that has JSON.stringify produces the same bytes.
 */
import { utf8 } from '../encoding.ts';

/** A JSON value as RFC 8259 defines it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The signed content of a record appended with `POST /api/orgs/:orgId/records`. */
export type RecordContent = {
  /** Chosen by the signer; a second append with the same id is a duplicate (idempotent retries, no replays). */
  id: string;
  /** The organisation the record is for, so a signature cannot be replayed into another organisation. */
  orgId: string;
  type: string;
  /** RFC 3339 time, exactly as signed. */
  time: string;
  payload: JsonValue;
};

/** A value JCS cannot represent (a non-finite number, or something that is not JSON). */
export class NotCanonicalizable extends TypeError {
  override readonly name = 'NotCanonicalizable';
}

function serialize(value: unknown, depth: number): string {
  if (depth > 64) throw new NotCanonicalizable('nested too deeply');
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    // RFC 8785 §3.2.2.3: ECMAScript number serialisation; NaN and Infinity have no JSON form.
    if (!Number.isFinite(value)) throw new NotCanonicalizable('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => serialize(v, depth + 1)).join(',')}]`;
  if (typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 asks for.
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${serialize(v, depth + 1)}`).join(',')}}`;
  }
  throw new NotCanonicalizable(`${typeof value} is not a JSON value`);
}

/** The RFC 8785 canonical JSON text of a value. */
export const canonicalJson = (value: unknown): string => serialize(value, 0);

/** The bytes a record's JWS signs: the canonical JSON of exactly its five signed members. */
export function canonicalRecordBytes(record: RecordContent): Uint8Array<ArrayBuffer> {
  const { id, orgId, type, time, payload } = record;
  return utf8(canonicalJson({ id, orgId, type, time, payload }));
}
