import { describe, expect, it } from 'vitest';
import { bytesToHex, utf8 } from '../encoding.ts';
import { decodeFrame } from './decode.ts';
import {
  FrameEncodeError,
  chunkBody,
  encodeControl,
  encodeData,
  encodeEnd,
  encodeFrame,
  encodeGoaway,
  encodeOpen,
  encodePing,
  encodeReset,
  encodeResponse,
  encodeWindowUpdate,
  utf8Length,
} from './encode.ts';
import {
  type DecodeResult,
  ErrorCode,
  FrameFlag,
  FrameType,
  HEADER_SIZE,
  MAX_DATA_PAYLOAD,
  MAX_HEAD_BYTES,
  MAX_REASON_BYTES,
} from './frame.ts';
import { head, pattern, rawFrame, sampleFrames as frames } from './tunnel.test-fixture.ts';

const error = (result: DecodeResult) => {
  if (result.ok) throw new Error(`expected an error, got ${result.frame.type}`);
  return result.error;
};

describe('tunnel codec', () => {
  it.each(frames.map((f) => [`${f.type} ${JSON.stringify(f).length}`, f] as const))('round-trips %s', (_, frame) => {
    const bytes = encodeFrame(frame);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.byteLength);
    expect(decodeFrame(bytes)).toEqual({ ok: true, frame });
    expect(decodeFrame(bytes.buffer)).toEqual({ ok: true, frame });
  });

  it('lays out a DATA frame byte for byte', () => {
    expect(bytesToHex(encodeData(1, utf8('hi')))).toBe('01030000' + '00000001' + '00000002' + '6869');
    expect(bytesToHex(encodeData(258, new Uint8Array([0xab]), { text: true, more: true }))).toBe('01030300' + '00000102' + '00000001' + 'ab');
  });

  it('lays out WINDOW_UPDATE, RESET, GOAWAY, END and OPEN byte for byte', () => {
    expect(bytesToHex(encodeWindowUpdate(3, 65536))).toBe('010600000000000300000004' + '00010000');
    expect(bytesToHex(encodeReset(5, ErrorCode.CANCEL, 'gone'))).toBe('010500000000000500000008' + '00000008' + '676f6e65');
    expect(bytesToHex(encodeGoaway(7, ErrorCode.NO_ERROR))).toBe('010900000000000000000008' + '00000007' + '00000000');
    expect(bytesToHex(encodeEnd(9, { code: 1000, reason: 'ok' }))).toBe('010400000000000900000004' + '03e8' + '6f6b');
    const open = encodeOpen(1, { method: 'GET', path: '/', headers: [['a', 'b']] });
    const json = '{"method":"GET","path":"/","headers":[["a","b"]]}';
    expect(bytesToHex(open)).toBe('010100000000000100000031' + bytesToHex(utf8(json)));
    expect(json.length).toBe(0x31);
  });

  it('produces the example frames of docs/tunnel-protocol.md', () => {
    const open = encodeOpen(1, { method: 'GET', path: '/status?v=1', headers: [['accept', 'text/html'], ['cookie', 'a=1']] });
    expect(bytesToHex(open.subarray(0, HEADER_SIZE))).toBe('010100000000000100000059');
    expect(new TextDecoder().decode(open.subarray(HEADER_SIZE))).toBe('{"method":"GET","path":"/status?v=1","headers":[["accept","text/html"],["cookie","a=1"]]}');
    expect(bytesToHex(encodeData(1, utf8('hello')))).toBe('01030000000000010000000568656c6c6f');
    expect(bytesToHex(encodeWindowUpdate(1, 131072))).toBe('01060000000000010000000400020000');
    expect(bytesToHex(encodeReset(3, ErrorCode.CANCEL, 'client closed'))).toBe('010500000000000300000011' + '00000008' + bytesToHex(utf8('client closed')));
  });

  it('marks control messages IGNORABLE on request', () => {
    const bytes = encodeControl({ type: 'claimed' }, { ignorable: true });
    expect(bytes[2]).toBe(FrameFlag.IGNORABLE);
    expect(decodeFrame(bytes)).toEqual({ ok: true, frame: { type: 'control', message: { type: 'claimed' } } });
  });

  it('returns DATA and PING payloads as views into the message, not copies', () => {
    const bytes = encodeData(1, pattern(10));
    const result = decodeFrame(bytes);
    if (!result.ok || result.frame.type !== 'data') throw new Error('expected DATA');
    expect(result.frame.data.buffer).toBe(bytes.buffer);
    expect(result.frame.data.byteOffset).toBe(HEADER_SIZE);
  });

  it('decodes a frame that sits inside a larger buffer', () => {
    const frame = encodeWindowUpdate(2, 10);
    const big = new Uint8Array(frame.byteLength + 7);
    big.set(frame, 3);
    expect(decodeFrame(big.subarray(3, 3 + frame.byteLength))).toEqual({ ok: true, frame: { type: 'window_update', streamId: 2, increment: 10 } });
  });

  it('ignores the reserved byte and unknown flags on known types', () => {
    const bytes = rawFrame({ type: FrameType.END, streamId: 1, reserved: 0x5a, flags: 0x40 });
    expect(decodeFrame(bytes)).toEqual({ ok: true, frame: { type: 'end', streamId: 1 } });
  });

  it('splits bodies into DATA-sized views', () => {
    const body = pattern(MAX_DATA_PAYLOAD * 2 + 5);
    const chunks = chunkBody(body);
    expect(chunks.map((c) => c.byteLength)).toEqual([MAX_DATA_PAYLOAD, MAX_DATA_PAYLOAD, 5]);
    expect(chunks.every((c) => c.buffer === body.buffer)).toBe(true);
    expect(chunkBody(new Uint8Array(0))).toEqual([]);
    expect(chunkBody(pattern(10), 4).map((c) => [...c])).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(() => chunkBody(body, MAX_DATA_PAYLOAD + 1)).toThrow(FrameEncodeError);
  });

  it('counts UTF-8 bytes like TextEncoder, lone surrogates included', () => {
    for (const s of ['', 'abc', 'é', '€', '😀', 'a\ud800b', '\udc00', 'x😀\ud83d']) {
      expect(utf8Length(s)).toBe(utf8(s).byteLength);
    }
  });

  it('refuses to encode frames the peer would reject', () => {
    expect(() => encodeData(0, new Uint8Array(1))).toThrow(FrameEncodeError);
    expect(() => encodeData(1, new Uint8Array(MAX_DATA_PAYLOAD + 1))).toThrow(FrameEncodeError);
    expect(() => encodeOpen(1, { ...head, path: 'no-slash' })).toThrow(/path/);
    expect(() => encodeOpen(1, { ...head, headers: Array.from({ length: 600 }, () => ['a', 'b'] as [string, string]) })).toThrow(FrameEncodeError);
    expect(() => encodeOpen(1, { ...head, headers: [['x', 'v'.repeat(MAX_HEAD_BYTES)]] })).toThrow(/exceeds/);
    expect(() => encodeResponse(1, { status: 100, headers: [] })).toThrow(/status/);
    expect(() => encodeWindowUpdate(1, 0)).toThrow(FrameEncodeError);
    expect(() => encodeWindowUpdate(1, 2 ** 31)).toThrow(FrameEncodeError);
    expect(() => encodePing(new Uint8Array(7))).toThrow(FrameEncodeError);
    expect(() => encodeEnd(1, { code: 999 })).toThrow(FrameEncodeError);
    expect(() => encodeReset(1, -1)).toThrow(FrameEncodeError);
    // @ts-expect-error: an unknown control type is exactly what the schema is for.
    expect(() => encodeControl({ type: 'nope' })).toThrow(/control/);
  });

  it('truncates long reasons on a character boundary', () => {
    const result = decodeFrame(encodeReset(1, ErrorCode.INTERNAL, 'é'.repeat(MAX_REASON_BYTES)));
    if (!result.ok || result.frame.type !== 'reset') throw new Error('expected RESET');
    expect(result.frame.reason).toBe('é'.repeat(MAX_REASON_BYTES / 2));
    const odd = decodeFrame(encodeReset(1, ErrorCode.INTERNAL, `x${'€'.repeat(MAX_REASON_BYTES)}`));
    if (!odd.ok || odd.frame.type !== 'reset') throw new Error('expected RESET');
    expect(utf8(odd.frame.reason ?? '').byteLength).toBe(1 + 3 * 341);
  });
});

describe('tunnel decoder refuses malformed frames', () => {
  it('short header', () => {
    expect(error(decodeFrame(new Uint8Array(0)))).toEqual({ code: ErrorCode.PROTOCOL_ERROR, message: expect.stringMatching(/shorter/) });
    expect(error(decodeFrame(encodeWindowUpdate(1, 1).subarray(0, HEADER_SIZE - 1))).code).toBe(ErrorCode.PROTOCOL_ERROR);
  });

  it('bad version', () => {
    expect(error(decodeFrame(rawFrame({ version: 2, type: FrameType.END, streamId: 1 })))).toEqual({
      code: ErrorCode.UNSUPPORTED_VERSION,
      message: 'unsupported protocol version 2',
    });
    expect(error(decodeFrame(rawFrame({ version: 0, type: FrameType.END, streamId: 1 }))).code).toBe(ErrorCode.UNSUPPORTED_VERSION);
  });

  it('length that does not match the bytes present', () => {
    const longer = error(decodeFrame(rawFrame({ type: FrameType.DATA, streamId: 1, payload: 'abc', length: 4 })));
    expect(longer).toEqual({ code: ErrorCode.PROTOCOL_ERROR, message: 'payload length 4 does not match the 3 bytes present' });
    expect(error(decodeFrame(rawFrame({ type: FrameType.DATA, streamId: 1, payload: 'abc', length: 2 }))).streamId).toBeUndefined();
    expect(error(decodeFrame(rawFrame({ type: FrameType.DATA, streamId: 1, length: 0xffff_ffff }))).code).toBe(ErrorCode.PROTOCOL_ERROR);
  });

  it('oversized payloads, as a stream error on stream frames', () => {
    expect(error(decodeFrame(rawFrame({ type: FrameType.DATA, streamId: 3, payload: new Uint8Array(MAX_DATA_PAYLOAD + 1) })))).toEqual({
      code: ErrorCode.FRAME_SIZE,
      message: expect.stringMatching(/65537 bytes/),
      streamId: 3,
    });
    const bigControl = rawFrame({ type: FrameType.CONTROL, payload: new Uint8Array(MAX_HEAD_BYTES + 1) });
    expect(error(decodeFrame(bigControl))).toEqual({ code: ErrorCode.FRAME_SIZE, message: expect.any(String) });
  });

  it('fixed-size payloads of the wrong size', () => {
    expect(error(decodeFrame(rawFrame({ type: FrameType.WINDOW_UPDATE, streamId: 1, payload: new Uint8Array(3) }))).code).toBe(ErrorCode.FRAME_SIZE);
    expect(error(decodeFrame(rawFrame({ type: FrameType.PING, payload: new Uint8Array(9) }))).code).toBe(ErrorCode.FRAME_SIZE);
    expect(error(decodeFrame(rawFrame({ type: FrameType.RESET, streamId: 1, payload: new Uint8Array(2) }))).streamId).toBe(1);
    expect(error(decodeFrame(rawFrame({ type: FrameType.GOAWAY, payload: new Uint8Array(7) }))).code).toBe(ErrorCode.FRAME_SIZE);
    expect(error(decodeFrame(rawFrame({ type: FrameType.END, streamId: 1, payload: new Uint8Array(1) }))).code).toBe(ErrorCode.FRAME_SIZE);
  });

  it('stream id 0 on a stream frame and non-zero on a connection frame', () => {
    expect(error(decodeFrame(rawFrame({ type: FrameType.DATA, streamId: 0, payload: 'x' })))).toEqual({
      code: ErrorCode.PROTOCOL_ERROR,
      message: 'frame type 0x3 needs a stream id',
    });
    expect(error(decodeFrame(rawFrame({ type: FrameType.PING, streamId: 1, payload: new Uint8Array(8) })))).toEqual({
      code: ErrorCode.PROTOCOL_ERROR,
      message: 'frame type 0x7 must use stream 0',
    });
    expect(error(decodeFrame(rawFrame({ type: FrameType.CONTROL, streamId: 9, payload: '{"type":"claimed"}' }))).streamId).toBeUndefined();
  });

  it('bad JSON in heads (stream error) and in control messages (connection error)', () => {
    expect(error(decodeFrame(rawFrame({ type: FrameType.OPEN, streamId: 5, payload: '{"method":' })))).toEqual({
      code: ErrorCode.PROTOCOL_ERROR,
      message: 'OPEN: payload is not JSON',
      streamId: 5,
    });
    expect(error(decodeFrame(rawFrame({ type: FrameType.OPEN, streamId: 5, payload: new Uint8Array([0x7b, 0xff, 0x7d]) }))).message).toMatch(/UTF-8/);
    expect(error(decodeFrame(rawFrame({ type: FrameType.CONTROL, payload: 'nope' })))).toEqual({
      code: ErrorCode.PROTOCOL_ERROR,
      message: 'CONTROL: payload is not JSON',
    });
  });

  it('JSON that fails the schema', () => {
    const open = (value: unknown) => error(decodeFrame(rawFrame({ type: FrameType.OPEN, streamId: 1, payload: JSON.stringify(value) })));
    expect(open({ ...head, path: '//evil.example/' })).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR, streamId: 1, message: expect.stringMatching(/^OPEN: path/) });
    expect(open({ ...head, method: 'GE T' }).message).toMatch(/method/);
    expect(open({ ...head, headers: [['x', 'a\r\nInjected: 1']] }).message).toMatch(/^OPEN: headers\.0\.1/);
    expect(open({ ...head, headers: [['bad name', 'v']] }).message).toMatch(/header name/);
    expect(open([]).message).toMatch(/^OPEN: /);
    const response = error(decodeFrame(rawFrame({ type: FrameType.RESPONSE, streamId: 2, payload: '{"status":"200","headers":[]}' })));
    expect(response).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR, streamId: 2 });
    const control = error(decodeFrame(rawFrame({ type: FrameType.CONTROL, payload: '{"type":"claim_code","code":"X"}' })));
    expect(control).toEqual({ code: ErrorCode.PROTOCOL_ERROR, message: expect.stringMatching(/^CONTROL: expiresAt/) });
  });

  it('invalid values inside binary payloads', () => {
    const zero = rawFrame({ type: FrameType.WINDOW_UPDATE, streamId: 1, payload: new Uint8Array(4) });
    expect(error(decodeFrame(zero))).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR, streamId: 1 });
    const close = rawFrame({ type: FrameType.END, streamId: 1, payload: new Uint8Array([0x00, 0x10]) });
    expect(error(decodeFrame(close)).message).toMatch(/close code 16/);
    const reason = rawFrame({ type: FrameType.RESET, streamId: 1, payload: new Uint8Array([0, 0, 0, 8, 0xc3]) });
    expect(error(decodeFrame(reason)).message).toMatch(/UTF-8/);
  });

  it('unknown types: skipped with IGNORABLE, a protocol error without', () => {
    expect(decodeFrame(rawFrame({ type: 0x42, flags: FrameFlag.IGNORABLE, streamId: 7, payload: 'future' }))).toEqual({
      ok: true,
      frame: { type: 'skip', wireType: 0x42, streamId: 7 },
    });
    expect(error(decodeFrame(rawFrame({ type: 0x42, streamId: 7, payload: 'future' })))).toEqual({
      code: ErrorCode.PROTOCOL_ERROR,
      message: 'unknown frame type 0x42',
    });
    expect(error(decodeFrame(rawFrame({ type: 0x00 }))).code).toBe(ErrorCode.PROTOCOL_ERROR);
  });

  it('unknown control messages: skipped with IGNORABLE, a protocol error without', () => {
    const payload = '{"type":"firmware_offer","url":"https://example.com/fw"}';
    expect(decodeFrame(rawFrame({ type: FrameType.CONTROL, flags: FrameFlag.IGNORABLE, payload }))).toEqual({
      ok: true,
      frame: { type: 'skip', wireType: FrameType.CONTROL, streamId: 0 },
    });
    expect(error(decodeFrame(rawFrame({ type: FrameType.CONTROL, payload }))).code).toBe(ErrorCode.PROTOCOL_ERROR);
  });

  it('input that is not bytes', () => {
    expect(error(decodeFrame('ping' as unknown as Uint8Array))).toEqual({ code: ErrorCode.PROTOCOL_ERROR, message: 'frame must be a binary message' });
  });
});
