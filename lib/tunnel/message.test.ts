import { describe, expect, it } from 'vitest';
import { decodeFrame } from './decode.ts';
import { encodeFrame } from './encode.ts';
import { type DataFrame, ErrorCode, MAX_DATA_PAYLOAD } from './frame.ts';
import { createMessageAssembler, messageFrames } from './message.ts';
import { pattern } from './tunnel.test-fixture.ts';

// Through the codec and back, as the far side sees the frames.
const overTheWire = (frames: DataFrame[]): DataFrame[] =>
  frames.map((f) => {
    const r = decodeFrame(encodeFrame(f));
    if (!r.ok || r.frame.type !== 'data') throw new Error('expected DATA');
    return r.frame;
  });

describe('tunnel WebSocket messages', () => {
  it('fragments a large text message with TEXT on every part and MORE on all but the last', () => {
    const text = 'é'.repeat(MAX_DATA_PAYLOAD); // 128 KiB of UTF-8, so fragments split characters
    const frames = messageFrames(3, text);
    expect(frames.map((f) => [f.data.byteLength, f.text, f.more])).toEqual([
      [MAX_DATA_PAYLOAD, true, true],
      [MAX_DATA_PAYLOAD, true, undefined],
    ]);
    const assembler = createMessageAssembler();
    const [first, last] = overTheWire(frames);
    expect(assembler.push(first!)).toEqual({ ok: true });
    expect(assembler.push(last!)).toEqual({ ok: true, message: text });
  });

  it('sends small and empty messages as one frame, binary ones unflagged', () => {
    expect(messageFrames(1, '')).toEqual([{ type: 'data', streamId: 1, data: new Uint8Array(0), text: true }]);
    const binary = pattern(100);
    expect(messageFrames(1, binary)).toEqual([{ type: 'data', streamId: 1, data: binary }]);
    const assembler = createMessageAssembler();
    expect(assembler.push(overTheWire(messageFrames(1, binary))[0]!)).toEqual({ ok: true, message: binary });
    expect(assembler.push(overTheWire(messageFrames(1, ''))[0]!)).toEqual({ ok: true, message: '' });
  });

  it('reassembles consecutive messages independently, copying held fragments', () => {
    const assembler = createMessageAssembler();
    const frames = messageFrames(1, pattern(50), 20);
    const reused = new Uint8Array(20);
    for (const f of frames.slice(0, -1)) {
      reused.set(f.data);
      expect(assembler.push({ ...f, data: reused.subarray(0, f.data.byteLength) })).toEqual({ ok: true });
      reused.fill(0);
    }
    expect(assembler.push(frames.at(-1)!)).toEqual({ ok: true, message: pattern(50) });
    expect(assembler.push(messageFrames(1, 'next')[0]!)).toEqual({ ok: true, message: 'next' });
  });

  it('refuses messages that mix text and binary fragments or grow past the limit', () => {
    const mixed = createMessageAssembler();
    mixed.push({ type: 'data', streamId: 4, data: new Uint8Array(1), text: true, more: true });
    expect(mixed.push({ type: 'data', streamId: 4, data: new Uint8Array(1) })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.PROTOCOL_ERROR, streamId: 4 },
    });
    const small = createMessageAssembler(100);
    const frames = messageFrames(4, pattern(101), 50);
    expect(small.push(frames[0]!)).toEqual({ ok: true });
    expect(small.push(frames[1]!)).toEqual({ ok: true });
    expect(small.push(frames[2]!)).toMatchObject({ ok: false, error: { code: ErrorCode.FRAME_SIZE, streamId: 4 } });
  });
});
