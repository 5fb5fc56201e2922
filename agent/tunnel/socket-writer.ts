/**
 * Writes to the tunnel WebSocket with backpressure. `ws` queues whatever it is given; this wrapper tells producers
 * when the queue (`bufferedAmount`) passes a high-water mark and wakes them as the kernel takes the bytes, so a fast
 * local service cannot make the agent buffer a slow uplink's worth of data in memory. Once the cloud accepts batched
 * messages (docs/tunnel-protocol.md §1.1), the frames written in one turn of the event loop leave as one message.
 */
import { WebSocket } from 'ws';
import { createBatcher } from '../../lib/tunnel/index.ts';

/** Default high-water mark of the socket's queue: 1 MiB, a few 64 KiB frames per active stream at most. */
export const DEFAULT_HIGH_WATER = 1024 * 1024;

/** A backpressure-aware writer over one WebSocket. */
export interface SocketWriter {
  /** Queues a frame (binary) or a heartbeat (text); false when the socket is not open. */
  write(message: Uint8Array | string): boolean;
  /** Sends the frames held for this turn's batch now (before a close). */
  flush(): void;
  /** The cloud accepts batched messages: from now on the frames of one turn share a message. */
  batch(): void;
  /** True while more than the high-water mark is queued. */
  congested(): boolean;
  /** Calls `wake` once the queue is below half the high-water mark; a waker already waiting is not added twice. */
  whenWritable(wake: () => void): void;
  /** Drops the waiters (the socket is gone; their streams are being torn down). */
  clear(): void;
}

/** Wraps `ws` with a high-water mark (default 1 MiB). */
export function createSocketWriter(ws: WebSocket, highWater: number = DEFAULT_HIGH_WATER): SocketWriter {
  let waiters: (() => void)[] = [];
  const queued = () => ws.bufferedAmount + batcher.pending();

  function wake(): void {
    if (waiters.length === 0 || queued() >= highWater / 2) return;
    const ready = waiters;
    waiters = [];
    for (const w of ready) w();
  }

  function send(message: Uint8Array | string): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    // The callback runs once the bytes are handed to the kernel, which is when bufferedAmount drops.
    ws.send(message, (err) => {
      if (!err) wake();
    });
    return true;
  }

  // setImmediate runs after the I/O callbacks of this turn: a local response's head, body and end usually arrive together.
  const batcher = createBatcher({ write: send, schedule: (flush) => setImmediate(flush) });

  return {
    write: (message) => (typeof message === 'string' ? send(message) : ws.readyState === WebSocket.OPEN && batcher.push(message)),
    flush: () => void batcher.flush(),
    batch: batcher.enable,
    congested: () => queued() >= highWater,
    whenWritable(w) {
      // A waker already waiting is not queued twice, so a producer may ask on every congested flush.
      if (!waiters.includes(w)) waiters.push(w);
      // Nothing queued means no send callback is coming to wake it.
      if (queued() < highWater / 2) queueMicrotask(wake);
    },
    clear() {
      waiters = [];
    },
  };
}
