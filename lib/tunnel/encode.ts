/**
 * Frame encoders. Each returns one freshly allocated `Uint8Array` that spans its whole `ArrayBuffer`, so it can go to
 * `WebSocket.send` as is; the payload is written straight into it (JSON via `encodeInto`), never built and then copied.
 * Encoders validate their input and throw `FrameEncodeError` on a caller's mistake: a frame that would be refused by
 * the peer is never sent.
 */
import { fromUtf8, utf8 } from '../encoding.ts';
import {
  type ControlMessage,
  type RequestHead,
  type ResponseHead,
  controlMessageSchema,
  describeIssues,
  requestHeadSchema,
  responseHeadSchema,
} from './control.ts';
import {
  type Frame,
  FrameFlag,
  FrameType,
  type FrameTypeCode,
  HEADER_SIZE,
  MAX_CLOSE_REASON_BYTES,
  MAX_CONTROL_BYTES,
  MAX_DATA_PAYLOAD,
  MAX_HEAD_BYTES,
  MAX_REASON_BYTES,
  MAX_STREAM_ID,
  MAX_WINDOW,
  PROTOCOL_VERSION,
  isStreamId,
} from './frame.ts';

/** Thrown when asked to encode a frame the protocol does not allow (a bug in the caller, never in peer input). */
export class FrameEncodeError extends Error {
  override name = 'FrameEncodeError';
}

const encoder = new TextEncoder();

/** Bytes of `text` in UTF-8, as `TextEncoder` writes it (a lone surrogate becomes the 3-byte U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

// Cuts a reason to at most `max` UTF-8 bytes without splitting a character: reasons are informative, not worth an error.
function clampReason(reason: string, max: number): string {
  if (utf8Length(reason) <= max) return reason;
  const bytes = utf8(reason);
  let end = max;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return fromUtf8(bytes.subarray(0, end));
}

function checkStreamId(streamId: number): void {
  if (!isStreamId(streamId)) throw new FrameEncodeError(`stream id must be an integer in 1..${MAX_STREAM_ID}`);
}

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_STREAM_ID) throw new FrameEncodeError(`${what} must be a u32`);
}

// The one allocation of a frame: header written, payload left for the caller.
function allocate(type: FrameTypeCode, flags: number, streamId: number, payloadLength: number): Uint8Array<ArrayBuffer> {
  const frame = new Uint8Array(HEADER_SIZE + payloadLength);
  const view = new DataView(frame.buffer);
  view.setUint8(0, PROTOCOL_VERSION);
  view.setUint8(1, type);
  view.setUint8(2, flags);
  view.setUint32(4, streamId);
  view.setUint32(8, payloadLength);
  return frame;
}

function jsonFrame(type: FrameTypeCode, flags: number, streamId: number, value: unknown, max: number): Uint8Array<ArrayBuffer> {
  const json = JSON.stringify(value);
  const length = utf8Length(json);
  if (length > max) throw new FrameEncodeError(`JSON payload of ${length} bytes exceeds ${max}`);
  const frame = allocate(type, flags, streamId, length);
  encoder.encodeInto(json, frame.subarray(HEADER_SIZE));
  return frame;
}

// A u32 code (and, for GOAWAY, a u32 last stream id before it) followed by a UTF-8 reason.
function codeFrame(type: FrameTypeCode, streamId: number, words: readonly number[], reason: string): Uint8Array<ArrayBuffer> {
  const text = clampReason(reason, MAX_REASON_BYTES);
  const fixed = words.length * 4;
  const frame = allocate(type, 0, streamId, fixed + utf8Length(text));
  const view = new DataView(frame.buffer);
  words.forEach((word, i) => view.setUint32(HEADER_SIZE + i * 4, word));
  encoder.encodeInto(text, frame.subarray(HEADER_SIZE + fixed));
  return frame;
}

/** OPEN: starts stream `streamId` with a request head (validated against `requestHeadSchema`). */
export function encodeOpen(streamId: number, head: RequestHead): Uint8Array<ArrayBuffer> {
  checkStreamId(streamId);
  const parsed = requestHeadSchema.safeParse(head);
  if (!parsed.success) throw new FrameEncodeError(`invalid request head: ${describeIssues(parsed.error)}`);
  return jsonFrame(FrameType.OPEN, 0, streamId, parsed.data, MAX_HEAD_BYTES);
}

/** RESPONSE: the response head of stream `streamId` (validated against `responseHeadSchema`). */
export function encodeResponse(streamId: number, head: ResponseHead): Uint8Array<ArrayBuffer> {
  checkStreamId(streamId);
  const parsed = responseHeadSchema.safeParse(head);
  if (!parsed.success) throw new FrameEncodeError(`invalid response head: ${describeIssues(parsed.error)}`);
  return jsonFrame(FrameType.RESPONSE, 0, streamId, parsed.data, MAX_HEAD_BYTES);
}

/** DATA: one chunk of at most MAX_DATA_PAYLOAD bytes; `text`/`more` mark WebSocket message fragments. */
export function encodeData(
  streamId: number,
  chunk: Uint8Array,
  opts: { readonly text?: boolean; readonly more?: boolean } = {},
): Uint8Array<ArrayBuffer> {
  checkStreamId(streamId);
  if (chunk.byteLength > MAX_DATA_PAYLOAD) throw new FrameEncodeError(`DATA chunk of ${chunk.byteLength} bytes exceeds ${MAX_DATA_PAYLOAD}`);
  const flags = (opts.text ? FrameFlag.TEXT : 0) | (opts.more ? FrameFlag.MORE : 0);
  const frame = allocate(FrameType.DATA, flags, streamId, chunk.byteLength);
  frame.set(chunk, HEADER_SIZE);
  return frame;
}

/** END: half-closes the sender's direction; `close` (upgraded streams only) relays a WebSocket close code and reason. */
export function encodeEnd(streamId: number, close?: { readonly code: number; readonly reason?: string }): Uint8Array<ArrayBuffer> {
  checkStreamId(streamId);
  if (!close) return allocate(FrameType.END, 0, streamId, 0);
  if (!Number.isInteger(close.code) || close.code < 1000 || close.code > 4999) {
    throw new FrameEncodeError('WebSocket close code must be in 1000..4999');
  }
  const reason = clampReason(close.reason ?? '', MAX_CLOSE_REASON_BYTES);
  const frame = allocate(FrameType.END, 0, streamId, 2 + utf8Length(reason));
  new DataView(frame.buffer).setUint16(HEADER_SIZE, close.code);
  encoder.encodeInto(reason, frame.subarray(HEADER_SIZE + 2));
  return frame;
}

/** RESET: abandons stream `streamId` with an error code and an optional reason (truncated to MAX_REASON_BYTES). */
export function encodeReset(streamId: number, code: number, reason = ''): Uint8Array<ArrayBuffer> {
  checkStreamId(streamId);
  checkU32(code, 'error code');
  return codeFrame(FrameType.RESET, streamId, [code], reason);
}

/** WINDOW_UPDATE: grants `increment` (1..2^31−1) more bytes of DATA on stream `streamId`. */
export function encodeWindowUpdate(streamId: number, increment: number): Uint8Array<ArrayBuffer> {
  checkStreamId(streamId);
  if (!Number.isInteger(increment) || increment < 1 || increment > MAX_WINDOW) {
    throw new FrameEncodeError(`window increment must be in 1..${MAX_WINDOW}`);
  }
  const frame = allocate(FrameType.WINDOW_UPDATE, 0, streamId, 4);
  new DataView(frame.buffer).setUint32(HEADER_SIZE, increment);
  return frame;
}

function eightBytes(type: FrameTypeCode, data: Uint8Array): Uint8Array<ArrayBuffer> {
  if (data.byteLength !== 8) throw new FrameEncodeError('PING/PONG data must be exactly 8 bytes');
  const frame = allocate(type, 0, 0, 8);
  frame.set(data, HEADER_SIZE);
  return frame;
}

/** PING: 8 opaque bytes (a counter or timestamp) the peer echoes back. */
export const encodePing = (data: Uint8Array): Uint8Array<ArrayBuffer> => eightBytes(FrameType.PING, data);

/** PONG: echoes the 8 bytes of a PING. */
export const encodePong = (data: Uint8Array): Uint8Array<ArrayBuffer> => eightBytes(FrameType.PONG, data);

/** GOAWAY: no new streams; `lastStreamId` is the highest peer-opened stream the sender will still finish. */
export function encodeGoaway(lastStreamId: number, code: number, reason = ''): Uint8Array<ArrayBuffer> {
  checkU32(lastStreamId, 'last stream id');
  checkU32(code, 'error code');
  return codeFrame(FrameType.GOAWAY, 0, [lastStreamId, code], reason);
}

/** CONTROL: one control message; `ignorable` lets a peer that does not know its type skip it. */
export function encodeControl(message: ControlMessage, opts: { readonly ignorable?: boolean } = {}): Uint8Array<ArrayBuffer> {
  const parsed = controlMessageSchema.safeParse(message);
  if (!parsed.success) throw new FrameEncodeError(`invalid control message: ${describeIssues(parsed.error)}`);
  return jsonFrame(FrameType.CONTROL, opts.ignorable ? FrameFlag.IGNORABLE : 0, 0, parsed.data, MAX_CONTROL_BYTES);
}

/** Encodes any frame value, as `decodeFrame` returns them: what a state machine checked is what goes on the wire. */
export function encodeFrame(frame: Frame): Uint8Array<ArrayBuffer> {
  switch (frame.type) {
    case 'open':
      return encodeOpen(frame.streamId, frame.head);
    case 'response':
      return encodeResponse(frame.streamId, frame.head);
    case 'data':
      return encodeData(frame.streamId, frame.data, { text: frame.text === true, more: frame.more === true });
    case 'end':
      return encodeEnd(frame.streamId, frame.close);
    case 'reset':
      return encodeReset(frame.streamId, frame.code, frame.reason);
    case 'window_update':
      return encodeWindowUpdate(frame.streamId, frame.increment);
    case 'ping':
      return encodePing(frame.data);
    case 'pong':
      return encodePong(frame.data);
    case 'goaway':
      return encodeGoaway(frame.lastStreamId, frame.code, frame.reason);
    case 'control':
      return encodeControl(frame.message);
  }
}

/** Splits a body into views of at most `max` bytes (no copies) for successive DATA frames; an empty body gives none. */
export function chunkBody(body: Uint8Array, max: number = MAX_DATA_PAYLOAD): Uint8Array[] {
  if (!Number.isInteger(max) || max < 1 || max > MAX_DATA_PAYLOAD) throw new FrameEncodeError(`chunk size must be in 1..${MAX_DATA_PAYLOAD}`);
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < body.byteLength; offset += max) chunks.push(body.subarray(offset, offset + max));
  return chunks;
}
