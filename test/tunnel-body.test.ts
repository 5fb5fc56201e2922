import { describe, expect, it } from 'vitest';
import { MAX_COALESCED, takeQueued } from '../durable-objects/tunnel/body.ts';
import { wholeBody } from '../durable-objects/tunnel/proxy-stream.ts';

const chunk = (size: number, fill: number) => new Uint8Array(size).fill(fill);

describe('takeQueued', () => {
  it('gives nothing for an empty queue and a lone frame as it is (no copy)', () => {
    expect(takeQueued([])).toBeUndefined();
    const only = chunk(10, 1);
    const queue = [only];
    expect(takeQueued(queue)).toBe(only);
    expect(queue).toHaveLength(0);
  });

  it('joins queued frames in order into one chunk', () => {
    const queue = [chunk(3, 1), chunk(2, 2), chunk(1, 3)];
    expect([...takeQueued(queue)!]).toEqual([1, 1, 1, 2, 2, 3]);
    expect(queue).toHaveLength(0);
  });

  it('stops before MAX_COALESCED and leaves the rest queued, untouched', () => {
    const frame = 64 * 1024;
    const queue = Array.from({ length: MAX_COALESCED / frame + 3 }, (_, i) => chunk(frame, i));
    const first = takeQueued(queue)!;
    expect(first.byteLength).toBe(MAX_COALESCED);
    expect(first[0]).toBe(0);
    expect(first[MAX_COALESCED - 1]).toBe(MAX_COALESCED / frame - 1);
    expect(queue).toHaveLength(3);
    expect(queue[0]![0]).toBe(MAX_COALESCED / frame);
  });

  it('hands over a frame larger than the cap whole', () => {
    const big = chunk(MAX_COALESCED + 1, 7);
    const queue = [big, chunk(1, 8)];
    expect(takeQueued(queue)).toBe(big);
    expect(queue).toHaveLength(1);
  });
});

describe('wholeBody', () => {
  const data = (...bytes: number[]) => ({ type: 'data' as const, streamId: 1, data: new Uint8Array(bytes) });
  const end = { type: 'end' as const, streamId: 1 };
  it('joins DATA that ends in END, and is empty for END alone', () => {
    expect([...wholeBody([data(1, 2), data(), data(3), end])!]).toEqual([1, 2, 3]);
    expect(wholeBody([end])!.byteLength).toBe(0);
    const only = data(9, 9);
    expect(wholeBody([only, end])).toBe(only.data);
  });
  it('is undefined while the body is still open or anything else came', () => {
    expect(wholeBody([])).toBeUndefined();
    expect(wholeBody([data(1)])).toBeUndefined();
    expect(wholeBody([data(1), { type: 'window_update', streamId: 1, increment: 5 }, end])).toBeUndefined();
    expect(wholeBody([data(1), { type: 'reset', streamId: 1, code: 2 }])).toBeUndefined();
  });
});
