/**
 * Tunnel frame vocabulary: wire constants, limits and the decoded frame types shared by the Durable Object and the
 * device agent. The byte layout is specified in docs/tunnel-protocol.md; this file and that document change together.
 */
import type { ControlMessage, RequestHead, ResponseHead } from './control.ts';

/** The version byte every frame starts with; a peer speaking another version is refused at the first frame. */
export const PROTOCOL_VERSION = 1;

/** The WebSocket subprotocol (Sec-WebSocket-Protocol) the agent asks for, so a version change is settled at the handshake. */
export const TUNNEL_SUBPROTOCOL = 'gatehouse-tunnel.v1';

/** The text message the agent sends as a heartbeat; the Durable Object's auto-response answers without waking up. */
export const HEARTBEAT_PING = 'ping';

/** The text answer to `HEARTBEAT_PING`, set with `setWebSocketAutoResponse`. */
export const HEARTBEAT_PONG = 'pong';

/** Bytes before the payload: version, type, flags, reserved (1 each), stream id (u32 BE), payload length (u32 BE). */
export const HEADER_SIZE = 12;

/** Wire codes of the frame types; codes 0x0b–0x7f are free for later versions. */
export const FrameType = {
  OPEN: 0x01,
  RESPONSE: 0x02,
  DATA: 0x03,
  END: 0x04,
  RESET: 0x05,
  WINDOW_UPDATE: 0x06,
  PING: 0x07,
  PONG: 0x08,
  GOAWAY: 0x09,
  CONTROL: 0x0a,
} as const;

/** A known frame type code. */
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

/** Flag bits. TEXT and MORE only mean something on DATA of an upgraded (WebSocket) stream; IGNORABLE on any frame. */
export const FrameFlag = {
  /** The DATA carries (part of) a WebSocket text message rather than a binary one. */
  TEXT: 0x01,
  /** More DATA fragments of the same WebSocket message follow. */
  MORE: 0x02,
  /** A receiver that does not know this frame type (or control message) skips it instead of failing. */
  IGNORABLE: 0x80,
} as const;

/** Error codes carried by RESET and GOAWAY and reported by the decoder and the state machines. */
export const ErrorCode = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL: 2,
  FLOW_CONTROL: 3,
  TIMEOUT: 4,
  STREAM_CLOSED: 5,
  FRAME_SIZE: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  UPSTREAM_UNREACHABLE: 9,
  UNSUPPORTED_VERSION: 10,
} as const;

/** A known error code; received RESET/GOAWAY frames may carry other values, which mean INTERNAL. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes (RFC 6455 §7.4) either side uses when it closes the tunnel socket. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL: 1011,
  /** A newer connection from the same device took over this one. */
  REPLACED: 4000,
  /** The frame version byte is not one this side speaks. */
  UNSUPPORTED_VERSION: 4001,
  /** The peer stopped answering heartbeats. */
  HEARTBEAT_TIMEOUT: 4002,
  /** The certificate the device connected with was revoked: reconnecting with it will be refused. */
  REVOKED: 4003,
} as const;

/** The payload of a DATA frame: below the 1 MiB Workers WebSocket message limit and small enough to interleave streams fairly. */
export const MAX_DATA_PAYLOAD = 64 * 1024;
/** The largest JSON request or response head, in bytes. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** The largest JSON control message, in bytes. */
export const MAX_CONTROL_BYTES = 64 * 1024;
/** The largest payload of any frame, so the WebSocket layer can refuse bigger messages before they are read. */
export const MAX_FRAME_PAYLOAD = 64 * 1024;
/** The largest frame on the wire: what to give `ws` as `maxPayload`. */
export const MAX_FRAME_SIZE = HEADER_SIZE + MAX_FRAME_PAYLOAD;
/** The most header fields a head may carry. */
export const MAX_HEADERS = 256;
/** The longest RESET or GOAWAY reason in UTF-8 bytes; encoders truncate longer reasons. */
export const MAX_REASON_BYTES = 1024;
/** The longest WebSocket close reason (RFC 6455 §5.5: a control frame body is at most 125 bytes, 2 of them the code). */
export const MAX_CLOSE_REASON_BYTES = 123;
/** The largest stream id (u32). */
export const MAX_STREAM_ID = 0xffff_ffff;
/** The largest flow-control window or WINDOW_UPDATE increment (2^31 − 1, as in RFC 9113 §6.9.1). */
export const MAX_WINDOW = 0x7fff_ffff;

/** A problem found in a frame or in the order of frames: with `streamId`, reset that stream; without, close the connection. */
export interface FrameError {
  readonly code: ErrorCodeValue;
  readonly message: string;
  readonly streamId?: number;
}

/** OPEN: a new stream, carrying the request head. */
export interface OpenFrame {
  readonly type: 'open';
  readonly streamId: number;
  readonly head: RequestHead;
}

/** RESPONSE: the response head of a stream. */
export interface ResponseFrame {
  readonly type: 'response';
  readonly streamId: number;
  readonly head: ResponseHead;
}

/** DATA: one body chunk (or one WebSocket message fragment); `data` is a view into the received message, not a copy. */
export interface DataFrame {
  readonly type: 'data';
  readonly streamId: number;
  readonly data: Uint8Array;
  readonly text?: true;
  readonly more?: true;
}

/** END: the sender's direction is finished; on an upgraded stream it may carry the WebSocket close code and reason. */
export interface EndFrame {
  readonly type: 'end';
  readonly streamId: number;
  readonly close?: { readonly code: number; readonly reason: string };
}

/** RESET: the stream is abandoned in both directions. */
export interface ResetFrame {
  readonly type: 'reset';
  readonly streamId: number;
  readonly code: number;
  readonly reason?: string;
}

/** WINDOW_UPDATE: the receiver grants this many more bytes of DATA on the stream. */
export interface WindowUpdateFrame {
  readonly type: 'window_update';
  readonly streamId: number;
  readonly increment: number;
}

/** PING: 8 opaque bytes the peer echoes in a PONG. */
export interface PingFrame {
  readonly type: 'ping';
  readonly data: Uint8Array;
}

/** PONG: the answer to a PING, with the same 8 bytes. */
export interface PongFrame {
  readonly type: 'pong';
  readonly data: Uint8Array;
}

/** GOAWAY: the sender accepts no new streams; peer-opened streams above `lastStreamId` were not processed. */
export interface GoawayFrame {
  readonly type: 'goaway';
  readonly lastStreamId: number;
  readonly code: number;
  readonly reason?: string;
}

/** CONTROL: one validated JSON control message on stream 0. */
export interface ControlFrame {
  readonly type: 'control';
  readonly message: ControlMessage;
}

/** An unknown frame (or control message) marked IGNORABLE, which the receiver drops. */
export interface SkipFrame {
  readonly type: 'skip';
  readonly wireType: number;
  readonly streamId: number;
}

/** Frames that belong to a stream (stream id ≠ 0). */
export type StreamFrame = OpenFrame | ResponseFrame | DataFrame | EndFrame | ResetFrame | WindowUpdateFrame;

/** Frames that belong to the connection (stream id 0). */
export type ConnectionFrame = PingFrame | PongFrame | GoawayFrame | ControlFrame;

/** Every frame this version can encode. */
export type Frame = StreamFrame | ConnectionFrame;

/** What `decodeFrame` can hand back: a frame, or a skip marker for an ignorable unknown one. */
export type DecodedFrame = Frame | SkipFrame;

/** The result of decoding one WebSocket message; decoding never throws. */
export type DecodeResult = { readonly ok: true; readonly frame: DecodedFrame } | { readonly ok: false; readonly error: FrameError };

const STREAM_TYPES: ReadonlySet<number> = new Set([
  FrameType.OPEN,
  FrameType.RESPONSE,
  FrameType.DATA,
  FrameType.END,
  FrameType.RESET,
  FrameType.WINDOW_UPDATE,
]);
const CONNECTION_TYPES: ReadonlySet<number> = new Set([FrameType.PING, FrameType.PONG, FrameType.GOAWAY, FrameType.CONTROL]);

/** True for the type codes of frames that must carry a non-zero stream id. */
export const isStreamType = (type: number): boolean => STREAM_TYPES.has(type);

/** True for the type codes of frames that must carry stream id 0. */
export const isConnectionType = (type: number): boolean => CONNECTION_TYPES.has(type);

/** True when `id` is a valid u32 stream id other than 0. */
export const isStreamId = (id: number): boolean => Number.isInteger(id) && id > 0 && id <= MAX_STREAM_ID;

/** True for the error codes this version defines; anything else received on the wire is treated as INTERNAL. */
export const isKnownErrorCode = (code: number): code is ErrorCodeValue =>
  Number.isInteger(code) && code >= ErrorCode.NO_ERROR && code <= ErrorCode.UNSUPPORTED_VERSION;

/** Builds a connection-level (no stream id) or stream-level frame error. */
export const frameError = (code: ErrorCodeValue, message: string, streamId?: number): FrameError =>
  streamId === undefined ? { code, message } : { code, message, streamId };
