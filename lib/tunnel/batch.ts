/**
 * Batched messages (docs/tunnel-protocol.md §1.1): a side that announced `batchFrames` accepts binary WebSocket
 * messages holding several whole frames back to back, up to MAX_BATCH_BYTES. Every WebSocket message costs both ends
 * a wake-up (on workerd a Durable Object event), so a proxied request whose OPEN and END, or whose RESPONSE, DATA and
 * END, are written in the same turn crosses as one message each way.
 */
import { concatBytes } from '../encoding.ts';
import { HEADER_SIZE, MAX_FRAME_SIZE, PROTOCOL_VERSION } from './frame.ts';

/** The largest batched message: four full frames, a quarter of the Workers WebSocket message limit. */
export const MAX_BATCH_BYTES = 4 * MAX_FRAME_SIZE;

/**
 * Splits a binary message into its frames (views into it, not copies) by their length fields. It never fails: where
 * the bytes left do not start a whole version 1 frame (too short, another version, a length running past the end),
 * they are returned as the last "frame", and `decodeFrame` then reports them with the error and in the order of §2's
 * header checks, exactly as for a single-frame message.
 */
export function splitMessage(input: Uint8Array | ArrayBuffer): Uint8Array[] {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: Uint8Array[] = [];
  let at = 0;
  while (bytes.byteLength - at >= HEADER_SIZE && bytes[at] === PROTOCOL_VERSION) {
    const end = at + HEADER_SIZE + view.getUint32(at + 8);
    if (end > bytes.byteLength) break;
    frames.push(bytes.subarray(at, end));
    if (end === bytes.byteLength) return frames;
    at = end;
  }
  frames.push(bytes.subarray(at));
  return frames;
}

/** Options of `createBatcher`. */
export interface BatcherOptions {
  /** Writes one WebSocket message; false when the socket is gone. */
  readonly write: (message: Uint8Array) => boolean;
  /** Runs `flush` once the current turn is over (queueMicrotask on workerd, setImmediate in Node). */
  readonly schedule: (flush: () => void) => void;
}

/** Collects the frames written in one turn and sends them as one message once the peer accepts batches. */
export interface Batcher {
  /** Sends a frame now (batching off) or with the others of this turn; false when the socket is gone. */
  push(frame: Uint8Array): boolean;
  /** Sends what is held now. */
  flush(): boolean;
  /** Turns batching on, once the peer has announced `batchFrames`. */
  enable(): void;
  /** Bytes held for the next message. */
  pending(): number;
}

/** A batcher over one socket; it starts off, because the peer's settings are not known before its first frame. */
export function createBatcher(opts: BatcherOptions): Batcher {
  let enabled = false;
  let held: Uint8Array[] = [];
  let size = 0;
  let scheduled = false;

  function flush(): boolean {
    if (held.length === 0) return true;
    const frames = held;
    held = [];
    size = 0;
    return opts.write(frames.length === 1 ? frames[0]! : concatBytes(...frames));
  }

  return {
    push(frame) {
      if (!enabled) return opts.write(frame);
      if (size + frame.byteLength > MAX_BATCH_BYTES && !flush()) return false;
      held.push(frame);
      size += frame.byteLength;
      // One flush per turn: one that ran early (a full batch, a close) leaves the turn's scheduled one in place.
      if (!scheduled) {
        scheduled = true;
        opts.schedule(() => {
          scheduled = false;
          flush();
        });
      }
      return true;
    },
    flush,
    enable() {
      enabled = true;
    },
    pending: () => size,
  };
}
