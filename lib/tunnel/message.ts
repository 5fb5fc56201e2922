/**
 * WebSocket messages over an upgraded stream. Neither end sees raw WebSocket bytes (a Workers `WebSocketPair` and `ws`
 * both deliver whole messages), so the tunnel carries messages: each is one or more DATA frames, every fragment
 * flagged TEXT for a text message and all but the last flagged MORE. A close travels as END with the close code.
 */
import { fromUtf8, utf8 } from '../encoding.ts';
import { chunkBody } from './encode.ts';
import { type DataFrame, ErrorCode, type FrameError, MAX_DATA_PAYLOAD, frameError } from './frame.ts';

/** 1 MiB, the Workers WebSocket message limit: the Durable Object could not deliver a bigger message anyway. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** A reassembled WebSocket message: a string for a text message, bytes for a binary one. */
export type WebSocketMessage = string | Uint8Array;

/** Splits one WebSocket message into the DATA frames that carry it; each still goes through flow control when sent. */
export function messageFrames(streamId: number, message: WebSocketMessage, max: number = MAX_DATA_PAYLOAD): DataFrame[] {
  const text = typeof message === 'string';
  const bytes = text ? utf8(message) : message;
  const chunks = chunkBody(bytes, max);
  // An empty message is still a message: one empty DATA frame.
  if (chunks.length === 0) chunks.push(bytes);
  return chunks.map((data, i) => ({
    type: 'data',
    streamId,
    data,
    ...(text ? { text: true as const } : {}),
    ...(i < chunks.length - 1 ? { more: true as const } : {}),
  }));
}

/** One step of reassembly: a complete message, nothing yet (`message` undefined), or a stream error. */
export type AssembleResult = { readonly ok: true; readonly message?: WebSocketMessage } | { readonly ok: false; readonly error: FrameError };

/** Reassembles WebSocket messages from the DATA frames of one upgraded stream. */
export interface MessageAssembler {
  /** Adds one DATA frame; returns the message it completes, if any. */
  push(frame: DataFrame): AssembleResult;
}

/** Creates a reassembler that refuses messages above `maxBytes` (default 1 MiB) with a FRAME_SIZE error. */
export function createMessageAssembler(maxBytes: number = MAX_MESSAGE_BYTES): MessageAssembler {
  let parts: Uint8Array[] = [];
  let size = 0;
  let text: boolean | undefined;

  return {
    push(frame) {
      const isText = frame.text === true;
      if (text !== undefined && text !== isText) {
        return { ok: false, error: frameError(ErrorCode.PROTOCOL_ERROR, 'fragments of one message mix text and binary', frame.streamId) };
      }
      size += frame.data.byteLength;
      if (size > maxBytes) return { ok: false, error: frameError(ErrorCode.FRAME_SIZE, `WebSocket message exceeds ${maxBytes} bytes`, frame.streamId) };
      if (frame.more === true) {
        // Copied, because a received DATA payload is a view into a message buffer the caller may reuse.
        parts.push(frame.data.slice());
        text = isText;
        return { ok: true };
      }
      let bytes = frame.data;
      if (parts.length > 0) {
        bytes = new Uint8Array(size);
        let offset = 0;
        for (const part of [...parts, frame.data]) {
          bytes.set(part, offset);
          offset += part.byteLength;
        }
      }
      parts = [];
      size = 0;
      text = undefined;
      return { ok: true, message: isText ? fromUtf8(bytes) : bytes };
    },
  };
}
