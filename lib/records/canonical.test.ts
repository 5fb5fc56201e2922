import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalRecordBytes, NotCanonicalizable } from './canonical.ts';

describe('canonicalJson (RFC 8785)', () => {
  it('serialises numbers, strings and literals as §3.2.2 shows', () => {
    const input = JSON.parse('{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}');
    expect(canonicalJson(input)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  it('sorts members by UTF-16 code units as §3.2.3 shows, recursively', () => {
    const input = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Dalet', '1': 'One', '\ud83d\ude00': 'Emoji', '\u0080': 'Control', '\u00f6': 'o' };
    // Read the member names off the text: parsing back would reorder them (integer-like keys first in JS objects).
    const keys = [...canonicalJson(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
    expect(keys).toEqual(['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
    expect(canonicalJson({ nested: { b: 1, a: [{ d: 1, c: 2 }] } })).toBe('{"nested":{"a":[{"c":2,"d":1}],"b":1}}');
  });

  it('refuses what JSON cannot hold', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(NotCanonicalizable);
    expect(() => canonicalJson({ n: Infinity })).toThrow(NotCanonicalizable);
    expect(() => canonicalJson({ d: new Date(0) })).toThrow(NotCanonicalizable);
    expect(() => canonicalJson(() => 1)).toThrow(NotCanonicalizable);
    expect(canonicalJson({ skipped: undefined, kept: 1 })).toBe('{"kept":1}');
  });

  it('signs exactly the five record members, whatever else the object holds', () => {
    const record = { id: 'r1', orgId: 'o1', type: 't', time: '2026-01-01T00:00:00Z', payload: { z: 1, a: [true] } };
    const bytes = canonicalRecordBytes({ ...record, extra: 'ignored' } as typeof record);
    expect(new TextDecoder().decode(bytes)).toBe('{"id":"r1","orgId":"o1","payload":{"a":[true],"z":1},"time":"2026-01-01T00:00:00Z","type":"t"}');
  });
});
