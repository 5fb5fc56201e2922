import { concatBytes } from '../../lib/encoding.ts';
import { MAX_DATA_PAYLOAD, type TunnelStream } from '../../lib/tunnel/index.ts';

/**
 * Body plumbing for proxied streams, both directions, with the flow control of docs/tunnel-protocol.md §6:
 * - the request body is read only as fast as the agent grants credit, in DATA frames cut to the credit;
 * - the response body is a pull stream: credit goes back to the agent only as the client reads, so what the object
 *   holds per stream never exceeds its receive window and a slow client slows only its own stream.
 */

/** A one-shot signal that a waiting pump may continue (new credit, or the stream ended). */
export function createWakeup() {
  let wake: (() => void) | undefined;
  return {
    /** Resolves at the next `fire`. */
    wait: () => new Promise<void>((resolve) => (wake = resolve)),
    fire() {
      const w = wake;
      wake = undefined;
      w?.();
    },
  };
}

/** Sends a request body as DATA frames under the stream's send credit, then END; resolves false when it stopped early. */
export async function pumpBody(
  body: ReadableStream<Uint8Array>,
  stream: TunnelStream,
  io: { send: (data: Uint8Array) => boolean; end: () => boolean; gone: () => boolean; credit: () => Promise<void> },
): Promise<boolean> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: 'byob' });
  } catch {
    // Not a byte stream: read its chunks as they come.
  }
  if (!byob) return pumpChunks(body.getReader(), stream, io);
  const reader = byob;
  const stop = async () => {
    await reader.cancel().catch(() => undefined);
    return false;
  };
  // A byte stream's default reads come in small pieces (a few KiB each, a frame and a message apiece). A BYOB read takes
  // whatever has arrived, up to a whole frame, so an upload crosses in full 64 KiB frames; it never waits for more.
  let buffer = new ArrayBuffer(MAX_DATA_PAYLOAD);
  for (;;) {
    if (io.gone()) return stop();
    const credit = stream.flow.sendCredit();
    if (credit === 0) {
      await io.credit();
      continue;
    }
    const { done, value } = await reader.read(new Uint8Array(buffer, 0, Math.min(credit, MAX_DATA_PAYLOAD)));
    if (done) break;
    if (io.gone()) return stop();
    if (value.byteLength > 0 && !io.send(value)) return stop();
    // The frame holds a copy: the same memory takes the next read.
    buffer = value.buffer as ArrayBuffer;
  }
  return io.gone() ? false : io.end();
}

// The same for a stream of arbitrary chunks, each cut to the credit.
async function pumpChunks(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  stream: TunnelStream,
  io: { send: (data: Uint8Array) => boolean; end: () => boolean; gone: () => boolean; credit: () => Promise<void> },
): Promise<boolean> {
  const stop = async () => {
    await reader.cancel().catch(() => undefined);
    return false;
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let offset = 0;
    while (offset < value.byteLength) {
      if (io.gone()) return stop();
      const credit = stream.flow.sendCredit();
      if (credit === 0) {
        await io.credit();
        continue;
      }
      const n = Math.min(credit, MAX_DATA_PAYLOAD, value.byteLength - offset);
      if (!io.send(value.subarray(offset, offset + n))) return stop();
      offset += n;
    }
  }
  return io.gone() ? false : io.end();
}

/** The most one read of a response body hands the client: a few frames' worth, and never more than the window holds. */
export const MAX_COALESCED = 1024 * 1024;

/**
 * Takes the next chunk for the client: the first queued frame, joined with the frames behind it up to MAX_COALESCED.
 * Each chunk handed over costs the runtime a turn of its stream pump whatever its size, so when the agent is ahead of
 * the client a few frames cross as one (one copy, far cheaper than the turns it saves); a lone frame is not copied.
 */
export function takeQueued(queue: Uint8Array[]): Uint8Array | undefined {
  const first = queue.shift();
  if (!first || queue.length === 0) return first;
  let take = 0;
  let size = first.byteLength;
  while (take < queue.length && size + queue[take]!.byteLength <= MAX_COALESCED) size += queue[take++]!.byteLength;
  return take === 0 ? first : concatBytes(first, ...queue.splice(0, take));
}

/** The response body of one stream, fed with the agent's DATA and read by the client. */
export type BodySink = ReturnType<typeof createBodySink>;

/**
 * A ReadableStream (high-water mark 0: nothing is pulled ahead of the client) fed by `push`; `drained(n)` runs as the
 * client takes n bytes, and `cancelled` when the client goes away.
 */
export function createBodySink(hooks: { drained: (bytes: number) => void; cancelled: () => void }) {
  const queue: Uint8Array[] = [];
  const more = createWakeup();
  let ended = false;
  let failed = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const readable = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      async pull(c) {
        while (queue.length === 0 && !ended && !failed) await more.wait();
        if (failed) return;
        const chunk = takeQueued(queue);
        if (chunk) {
          c.enqueue(chunk);
          hooks.drained(chunk.byteLength);
        } else c.close();
      },
      cancel() {
        if (ended || failed) return;
        failed = true;
        hooks.cancelled();
      },
    },
    { highWaterMark: 0 },
  );
  return {
    readable,
    /** Queues a DATA payload (a view into the received message, which nothing else reuses). */
    push(data: Uint8Array) {
      if (ended || failed || data.byteLength === 0) return;
      queue.push(data);
      more.fire();
    },
    /** The agent sent END: the client gets what is queued, then the end of the body. */
    end() {
      ended = true;
      more.fire();
    },
    /** The stream broke before END: the client's body errors at once (an aborted response, not a short one). */
    fail(reason: string) {
      if (ended || failed) return;
      failed = true;
      queue.length = 0;
      controller.error(new Error(reason));
      more.fire();
    },
  };
}
