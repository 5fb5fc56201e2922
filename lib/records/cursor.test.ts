import { describe, expect, it } from 'vitest';
import { cursorKey, decodeCursor, encodeCursor } from './cursor.ts';

describe('log cursors', () => {
  it('round-trip a sequence number within one log and refuse any other log, alteration or key', async () => {
    const key = await cursorKey('secret one');
    for (const seq of [0, 1, 42, 2 ** 40]) expect(await decodeCursor(key, 'org:a', await encodeCursor(key, 'org:a', seq))).toBe(seq);
    const cursor = await encodeCursor(key, 'org:a', 41);
    expect(cursor).toMatch(/^[0-9a-z]+\.[\w-]{22}$/);
    expect(await decodeCursor(key, 'org:b', cursor)).toBeUndefined();
    expect(await decodeCursor(key, 'device:a', cursor)).toBeUndefined();
    expect(await decodeCursor(await cursorKey('secret two'), 'org:a', cursor)).toBeUndefined();
    const [seq, tag] = cursor.split('.') as [string, string];
    expect(await decodeCursor(key, 'org:a', `${(41 + 1).toString(36)}.${tag}`)).toBeUndefined();
    expect(await decodeCursor(key, 'org:a', `${seq}.${tag.slice(0, 21)}A`)).toBeUndefined();
    for (const junk of ['', '.', 'abc', `0${seq}.${tag}`, `${seq}.${tag}.x`, `-1.${tag}`]) expect(await decodeCursor(key, 'org:a', junk)).toBeUndefined();
  });
});
