/**
 * The frame decoder. It reads one WebSocket binary message and returns a result, never an exception: the peer is
 * untrusted, and one bad frame must cost at most a stream (error with `streamId`) or the connection (error without),
 * never the Durable Object or the agent process.
 */
import { controlMessageSchema, describeIssues, requestHeadSchema, responseHeadSchema } from './control.ts';
import {
  type DecodeResult,
  type DecodedFrame,
  ErrorCode,
  type ErrorCodeValue,
  FrameFlag,
  FrameType,
  HEADER_SIZE,
  MAX_CLOSE_REASON_BYTES,
  MAX_CONTROL_BYTES,
  MAX_DATA_PAYLOAD,
  MAX_HEAD_BYTES,
  MAX_REASON_BYTES,
  MAX_WINDOW,
  PROTOCOL_VERSION,
  frameError,
  isConnectionType,
  isStreamType,
} from './frame.ts';

// Fatal, so text that is not UTF-8 is refused rather than silently rewritten (which would also break re-encoding).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

function text(bytes: Uint8Array): Parsed<string> {
  try {
    return { ok: true, value: strictUtf8.decode(bytes) };
  } catch {
    return { ok: false, message: 'text is not valid UTF-8' };
  }
}

function json(bytes: Uint8Array): Parsed<unknown> {
  const decoded = text(bytes);
  if (!decoded.ok) return decoded;
  try {
    return { ok: true, value: JSON.parse(decoded.value) as unknown };
  } catch {
    return { ok: false, message: 'payload is not JSON' };
  }
}

const fail = (code: ErrorCodeValue, message: string, streamId?: number): DecodeResult => ({
  ok: false,
  error: frameError(code, message, streamId),
});

const ok = (frame: DecodedFrame): DecodeResult => ({ ok: true, frame });

// Per-type payload bounds: [min, max] bytes.
const PAYLOAD_BOUNDS: Readonly<Record<number, readonly [number, number]>> = {
  [FrameType.OPEN]: [0, MAX_HEAD_BYTES],
  [FrameType.RESPONSE]: [0, MAX_HEAD_BYTES],
  [FrameType.DATA]: [0, MAX_DATA_PAYLOAD],
  [FrameType.END]: [0, 2 + MAX_CLOSE_REASON_BYTES],
  [FrameType.RESET]: [4, 4 + MAX_REASON_BYTES],
  [FrameType.WINDOW_UPDATE]: [4, 4],
  [FrameType.PING]: [8, 8],
  [FrameType.PONG]: [8, 8],
  [FrameType.GOAWAY]: [8, 8 + MAX_REASON_BYTES],
  [FrameType.CONTROL]: [0, MAX_CONTROL_BYTES],
};

/** Decodes one frame from one WebSocket binary message; DATA and PING payloads are views into `input`, not copies. */
export function decodeFrame(input: Uint8Array | ArrayBuffer): DecodeResult {
  try {
    const bytes = input instanceof Uint8Array ? input : input instanceof ArrayBuffer ? new Uint8Array(input) : undefined;
    if (!bytes) return fail(ErrorCode.PROTOCOL_ERROR, 'frame must be a binary message');
    return decodeBytes(bytes);
  } catch {
    // Unreachable by design (the fuzz test checks that this code never shows up); kept so a decoder bug costs a
    // connection, not the object.
    return fail(ErrorCode.INTERNAL, 'decoder fault');
  }
}

function decodeBytes(bytes: Uint8Array): DecodeResult {
  if (bytes.byteLength < HEADER_SIZE) return fail(ErrorCode.PROTOCOL_ERROR, `frame of ${bytes.byteLength} bytes is shorter than the header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== PROTOCOL_VERSION) return fail(ErrorCode.UNSUPPORTED_VERSION, `unsupported protocol version ${version}`);
  const type = view.getUint8(1);
  const flags = view.getUint8(2);
  // Byte 3 is reserved: senders write 0 and receivers ignore it, so a later version can use it.
  const streamId = view.getUint32(4);
  const length = view.getUint32(8);
  if (length !== bytes.byteLength - HEADER_SIZE) {
    return fail(ErrorCode.PROTOCOL_ERROR, `payload length ${length} does not match the ${bytes.byteLength - HEADER_SIZE} bytes present`);
  }
  const streamLevel = isStreamType(type);
  if (!streamLevel && !isConnectionType(type)) {
    if ((flags & FrameFlag.IGNORABLE) !== 0) return ok({ type: 'skip', wireType: type, streamId });
    return fail(ErrorCode.PROTOCOL_ERROR, `unknown frame type 0x${type.toString(16).padStart(2, '0')}`);
  }
  if (streamLevel && streamId === 0) return fail(ErrorCode.PROTOCOL_ERROR, `frame type 0x${type.toString(16)} needs a stream id`);
  if (!streamLevel && streamId !== 0) return fail(ErrorCode.PROTOCOL_ERROR, `frame type 0x${type.toString(16)} must use stream 0`);

  // From here the framing is sound, so a bad payload on a stream frame only costs that stream.
  const sid = streamLevel ? streamId : undefined;
  const bounds = PAYLOAD_BOUNDS[type];
  if (bounds && (length < bounds[0] || length > bounds[1])) {
    return fail(ErrorCode.FRAME_SIZE, `payload of ${length} bytes is outside ${bounds[0]}..${bounds[1]} for frame type 0x${type.toString(16)}`, sid);
  }
  const payload = bytes.subarray(HEADER_SIZE);
  return decodePayload(type, flags, streamId, payload, new DataView(bytes.buffer, bytes.byteOffset + HEADER_SIZE, length));
}

function decodePayload(type: number, flags: number, streamId: number, payload: Uint8Array, view: DataView): DecodeResult {
  switch (type) {
    case FrameType.OPEN: {
      const parsed = json(payload);
      if (!parsed.ok) return fail(ErrorCode.PROTOCOL_ERROR, `OPEN: ${parsed.message}`, streamId);
      const head = requestHeadSchema.safeParse(parsed.value);
      if (!head.success) return fail(ErrorCode.PROTOCOL_ERROR, `OPEN: ${describeIssues(head.error)}`, streamId);
      return ok({ type: 'open', streamId, head: head.data });
    }
    case FrameType.RESPONSE: {
      const parsed = json(payload);
      if (!parsed.ok) return fail(ErrorCode.PROTOCOL_ERROR, `RESPONSE: ${parsed.message}`, streamId);
      const head = responseHeadSchema.safeParse(parsed.value);
      if (!head.success) return fail(ErrorCode.PROTOCOL_ERROR, `RESPONSE: ${describeIssues(head.error)}`, streamId);
      return ok({ type: 'response', streamId, head: head.data });
    }
    case FrameType.DATA:
      return ok({
        type: 'data',
        streamId,
        data: payload,
        ...((flags & FrameFlag.TEXT) !== 0 ? { text: true as const } : {}),
        ...((flags & FrameFlag.MORE) !== 0 ? { more: true as const } : {}),
      });
    case FrameType.END: {
      if (payload.byteLength === 0) return ok({ type: 'end', streamId });
      if (payload.byteLength < 2) return fail(ErrorCode.FRAME_SIZE, 'END close payload needs a 2-byte code', streamId);
      const code = view.getUint16(0);
      // RFC 6455 §7.4: codes below 1000 are unused and 5000+ are undefined.
      if (code < 1000 || code > 4999) return fail(ErrorCode.PROTOCOL_ERROR, `END: WebSocket close code ${code} out of range`, streamId);
      const reason = text(payload.subarray(2));
      if (!reason.ok) return fail(ErrorCode.PROTOCOL_ERROR, `END: ${reason.message}`, streamId);
      return ok({ type: 'end', streamId, close: { code, reason: reason.value } });
    }
    case FrameType.RESET: {
      const reason = text(payload.subarray(4));
      if (!reason.ok) return fail(ErrorCode.PROTOCOL_ERROR, `RESET: ${reason.message}`, streamId);
      return ok({ type: 'reset', streamId, code: view.getUint32(0), ...(reason.value ? { reason: reason.value } : {}) });
    }
    case FrameType.WINDOW_UPDATE: {
      const increment = view.getUint32(0);
      if (increment === 0 || increment > MAX_WINDOW) {
        return fail(ErrorCode.PROTOCOL_ERROR, `window increment ${increment} outside 1..${MAX_WINDOW}`, streamId);
      }
      return ok({ type: 'window_update', streamId, increment });
    }
    case FrameType.PING:
      return ok({ type: 'ping', data: payload });
    case FrameType.PONG:
      return ok({ type: 'pong', data: payload });
    case FrameType.GOAWAY: {
      const reason = text(payload.subarray(8));
      if (!reason.ok) return fail(ErrorCode.PROTOCOL_ERROR, `GOAWAY: ${reason.message}`);
      return ok({
        type: 'goaway',
        lastStreamId: view.getUint32(0),
        code: view.getUint32(4),
        ...(reason.value ? { reason: reason.value } : {}),
      });
    }
    case FrameType.CONTROL:
      return decodeControl(type, flags, payload);
    default:
      return fail(ErrorCode.PROTOCOL_ERROR, `unknown frame type 0x${type.toString(16)}`);
  }
}

// An IGNORABLE control message this side cannot read is one a newer peer marked as optional.
function decodeControl(type: number, flags: number, payload: Uint8Array): DecodeResult {
  const skip = (flags & FrameFlag.IGNORABLE) !== 0;
  const parsed = json(payload);
  if (!parsed.ok) return skip ? ok({ type: 'skip', wireType: type, streamId: 0 }) : fail(ErrorCode.PROTOCOL_ERROR, `CONTROL: ${parsed.message}`);
  const message = controlMessageSchema.safeParse(parsed.value);
  if (!message.success) {
    return skip ? ok({ type: 'skip', wireType: type, streamId: 0 }) : fail(ErrorCode.PROTOCOL_ERROR, `CONTROL: ${describeIssues(message.error)}`);
  }
  return ok({ type: 'control', message: message.data });
}
