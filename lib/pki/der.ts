/**
 * A minimal DER reader and writer (ITU-T X.690 §8 and §10) for the few structures Gatehouse handles byte-exactly:
 * certs-only PKCS#7, SubjectPublicKeyInfo and the outer shape of a PKCS#10 request.
 * Working on slices keeps embedded certificates byte-identical, which re-encoding through a schema library cannot promise.
 */

/** One decoded tag-length-value: `start`/`end` bound the whole element, `valueStart` its contents. */
export type Tlv = { tag: number; start: number; valueStart: number; end: number };

/** Thrown for anything that is not definite-length DER; internal: every caller turns it into a `PkiError`. */
export class DerError extends Error {
  override readonly name = 'DerError';
}

/** Universal tags used by the PKI modules (X.690 §8.1.2). */
export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
  CONTEXT_0: 0xa0,
  CONTEXT_1: 0xa1,
} as const;

/** Reads the element that starts at `offset`; rejects indefinite lengths and lengths past `limit` (X.690 §10.1). */
export function readTlv(bytes: Uint8Array, offset = 0, limit = bytes.length): Tlv {
  const tag = bytes[offset];
  const first = bytes[offset + 1];
  if (tag === undefined || first === undefined || offset + 2 > limit) throw new DerError('truncated header');
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used here');
  let length = first;
  let valueStart = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0) throw new DerError('indefinite length is not DER');
    if (count > 4) throw new DerError('length too large');
    length = 0;
    for (let i = 0; i < count; i++) {
      const b = bytes[valueStart + i];
      if (b === undefined) throw new DerError('truncated length');
      length = length * 256 + b;
    }
    if (length < 0x80 || (count > 1 && bytes[valueStart] === 0)) throw new DerError('non-minimal length');
    valueStart += count;
  }
  const end = valueStart + length;
  if (end > limit) throw new DerError('length runs past the end');
  return { tag, start: offset, valueStart, end };
}

/** Reads the single element that must fill `bytes` exactly: trailing data is rejected. */
export function readWhole(bytes: Uint8Array, expectedTag?: number): Tlv {
  const tlv = readTlv(bytes, 0);
  if (tlv.end !== bytes.length) throw new DerError('trailing data');
  if (expectedTag !== undefined && tlv.tag !== expectedTag) throw new DerError('unexpected tag');
  return tlv;
}

/** The elements inside a constructed element, in order. */
export function children(bytes: Uint8Array, parent: Tlv): Tlv[] {
  if ((parent.tag & 0x20) === 0) throw new DerError('primitive element has no children');
  const out: Tlv[] = [];
  for (let at = parent.valueStart; at < parent.end; ) {
    const child = readTlv(bytes, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

/** The bytes of a whole element (header included). */
export const slice = (bytes: Uint8Array, tlv: Tlv): Uint8Array<ArrayBuffer> => bytes.slice(tlv.start, tlv.end);

/** Encodes one element with a minimal definite length (X.690 §10.1). */
export function encodeTlv(tag: number, ...contents: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const length = contents.reduce((n, c) => n + c.length, 0);
  const lengthBytes: number[] = [];
  if (length < 0x80) lengthBytes.push(length);
  else {
    for (let n = length; n > 0; n = Math.floor(n / 256)) lengthBytes.unshift(n % 256);
    lengthBytes.unshift(0x80 | lengthBytes.length);
  }
  const out = new Uint8Array(1 + lengthBytes.length + length);
  out[0] = tag;
  out.set(lengthBytes, 1);
  let at = 1 + lengthBytes.length;
  for (const c of contents) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Encodes a non-negative INTEGER from a bigint (X.690 §8.3: two's complement, minimal octets). */
export function encodeUnsignedInteger(n: bigint): Uint8Array<ArrayBuffer> {
  if (n < 0n) throw new DerError('negative integer');
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  const body = new Uint8Array(hex.length / 2);
  for (let i = 0; i < body.length; i++) body[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return encodeTlv(TAG.INTEGER, body);
}

/** Encodes a dotted object identifier (X.690 §8.19). */
export function encodeOid(dotted: string): Uint8Array<ArrayBuffer> {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const [a, b, ...rest] = arcs;
  if (a === undefined || b === undefined) throw new DerError('an OID has at least two arcs');
  const out: number[] = [];
  for (const arc of [a * 40n + b, ...rest]) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) group.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...group);
  }
  return encodeTlv(TAG.OID, new Uint8Array(out));
}
