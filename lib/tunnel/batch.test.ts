import { describe, expect, it } from 'vitest';
import { concatBytes } from '../encoding.ts';
import { MAX_BATCH_BYTES, createBatcher, splitMessage } from './batch.ts';
import { decodeFrame } from './decode.ts';
import { encodeData, encodeEnd, encodeOpen, encodeWindowUpdate } from './encode.ts';
import { ErrorCode, MAX_DATA_PAYLOAD } from './frame.ts';

describe('splitMessage', () => {
  it('gives a single-frame message back whole, and several frames as views in order', () => {
    const open = encodeOpen(1, { method: 'GET', path: '/', headers: [] });
    expect(splitMessage(open)).toEqual([open]);
    const end = encodeEnd(1);
    const update = encodeWindowUpdate(3, 4096);
    const frames = splitMessage(concatBytes(open, end, update).buffer);
    expect(frames.map((f) => decodeFrame(f))).toEqual([decodeFrame(open), decodeFrame(end), decodeFrame(update)]);
  });

  it('leaves bytes that do not start a whole frame to the decoder, which reports them as it would alone', () => {
    const end = encodeEnd(1);
    const truncated = concatBytes(end, encodeData(1, new Uint8Array(100)).subarray(0, 50));
    const parts = splitMessage(truncated);
    expect(parts).toHaveLength(2);
    expect(decodeFrame(parts[1]!)).toMatchObject({ ok: false, error: { code: ErrorCode.PROTOCOL_ERROR } });
    expect(decodeFrame(parts[1]!)).not.toHaveProperty('error.streamId');

    const otherVersion = encodeEnd(1);
    otherVersion[0] = 2;
    expect(decodeFrame(splitMessage(concatBytes(end, otherVersion))[1]!)).toMatchObject({ ok: false, error: { code: ErrorCode.UNSUPPORTED_VERSION } });
    expect(decodeFrame(splitMessage(new Uint8Array(0))[0]!)).toMatchObject({ ok: false, error: { code: ErrorCode.PROTOCOL_ERROR } });
  });
});

describe('createBatcher', () => {
  const harness = () => {
    const sent: Uint8Array[] = [];
    const scheduled: (() => void)[] = [];
    const batcher = createBatcher({ write: (m) => (sent.push(m), true), schedule: (f) => scheduled.push(f) });
    return { sent, scheduled, batcher, turn: () => scheduled.splice(0).forEach((f) => f()) };
  };

  it('writes each frame at once until the peer accepts batches', () => {
    const { sent, scheduled, batcher } = harness();
    batcher.push(encodeEnd(1));
    batcher.push(encodeEnd(3));
    expect(sent).toHaveLength(2);
    expect(scheduled).toHaveLength(0);
  });

  it('then sends the frames of one turn as one message that splits back into them', () => {
    const { sent, scheduled, batcher, turn } = harness();
    batcher.enable();
    const frames = [encodeOpen(1, { method: 'GET', path: '/a', headers: [] }), encodeEnd(1), encodeWindowUpdate(3, 1 << 17)];
    for (const f of frames) expect(batcher.push(f)).toBe(true);
    expect(sent).toHaveLength(0);
    expect(scheduled).toHaveLength(1);
    expect(batcher.pending()).toBe(frames.reduce((n, f) => n + f.byteLength, 0));
    turn();
    expect(sent).toEqual([concatBytes(...frames)]);
    expect(splitMessage(sent[0]!)).toEqual(frames);
    expect(batcher.pending()).toBe(0);
    // A lone frame in a turn goes as it is, not copied.
    const lone = encodeEnd(5);
    batcher.push(lone);
    turn();
    expect(sent[1]).toBe(lone);
  });

  it('never builds a message larger than MAX_BATCH_BYTES', () => {
    const { sent, scheduled, batcher, turn } = harness();
    batcher.enable();
    const data = encodeData(1, new Uint8Array(MAX_DATA_PAYLOAD));
    for (let i = 0; i < 9; i++) batcher.push(data);
    expect(scheduled).toHaveLength(1);
    turn();
    expect(sent.map((m) => m.byteLength)).toEqual([4 * data.byteLength, 4 * data.byteLength, data.byteLength]);
    expect(Math.max(...sent.map((m) => m.byteLength))).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    expect(sent.flatMap((m) => splitMessage(m))).toHaveLength(9);
    // The early flushes of full batches did not schedule more turns than the one.
    expect(scheduled).toHaveLength(0);
  });

  it('reports a socket that is gone', () => {
    const batcher = createBatcher({ write: () => false, schedule: () => undefined });
    expect(batcher.push(encodeEnd(1))).toBe(false);
    batcher.enable();
    batcher.push(encodeEnd(1));
    expect(batcher.flush()).toBe(false);
  });
});
