/**
 * Writes to the tunnel WebSocket with backpressure. `ws` queues whatever it is given; this wrapper tells producers
 * when the queue (`bufferedAmount`) passes a high-water mark and wakes them as the kernel takes the bytes, so a fast
 * local service cannot make the agent buffer a slow uplink's worth of data in memory.
 */
import { WebSocket } from 'ws';

/** Default high-water mark of the socket's queue: 1 MiB, a few 64 KiB frames per active stream at most. */
export const DEFAULT_HIGH_WATER = 1024 * 1024;

/** A backpressure-aware writer over one WebSocket. */
export interface SocketWriter {
  /** Queues a frame (binary) or a heartbeat (text); false when the socket is not open. */
  write(message: Uint8Array | string): boolean;
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

  function wake(): void {
    if (waiters.length === 0 || ws.bufferedAmount >= highWater / 2) return;
    const ready = waiters;
    waiters = [];
    for (const w of ready) w();
  }

  return {
    write(message) {
      if (ws.readyState !== WebSocket.OPEN) return false;
      // The callback runs once the bytes are handed to the kernel, which is when bufferedAmount drops.
      ws.send(message, (err) => {
        if (!err) wake();
      });
      return true;
    },
    congested: () => ws.bufferedAmount >= highWater,
    whenWritable(w) {
      // A waker already waiting is not queued twice, so a producer may ask on every congested flush.
      if (!waiters.includes(w)) waiters.push(w);
      // Nothing queued means no send callback is coming to wake it.
      if (ws.bufferedAmount < highWater / 2) queueMicrotask(wake);
    },
    clear() {
      waiters = [];
    },
  };
}
