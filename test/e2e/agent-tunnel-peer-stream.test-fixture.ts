/**
 * One stream of the test cloud peer (agent-tunnel-peer.test-fixture.ts): sends a request body under the agent's credit, and
 * receives the response with credit granted only as the test reads, exactly as the Durable Object does. WebSocket
 * streams carry messages both ways with lib/tunnel's fragmenting and reassembly.
 */
import {
  MAX_DATA_PAYLOAD, createMessageAssembler, messageFrames,
  type ResetFrame, type ResponseHead, type StreamFrame, type TunnelStream, type WebSocketMessage,
} from '../../lib/tunnel/index.ts';

/** What a peer stream needs from its connection. */
export interface PeerLink {
  send(frame: StreamFrame): boolean;
}

/** A stream the peer opened, seen from the test. */
export type PeerStream = ReturnType<typeof createPeerStream>;

/** A resolvable promise. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Creates the bookkeeping of a peer stream; `autoRead` grants credit as soon as DATA arrives. */
export function createPeerStream(stream: TunnelStream, link: PeerLink, opts: { autoRead: boolean }) {
  const id = stream.id;
  const response = deferred<ResponseHead>();
  const reset = deferred<ResetFrame>();
  const ended = deferred<{ code: number; reason: string } | undefined>();
  const queue: Uint8Array[] = [];
  const assembler = createMessageAssembler();
  const messages: WebSocketMessage[] = [];
  let wake: (() => void) | undefined;
  let creditWake: (() => void) | undefined;
  let finished = false;
  const stats = { received: 0, sent: 0, windowUpdates: 0, maxUnreleased: 0 };
  let unreleased = 0;

  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const release = (n: number) => {
    unreleased -= n;
    const increment = stream.flow.release(n);
    if (increment > 0) link.send({ type: 'window_update', streamId: id, increment });
  };
  const waitCredit = () => new Promise<void>((resolve) => (creditWake = resolve));

  // `flags` is set for WebSocket message fragments only: a cut fragment keeps MORE on every part but the last.
  async function sendData(data: Uint8Array, flags?: { text?: true; more?: true }): Promise<boolean> {
    let offset = 0;
    do {
      if (finished) return false;
      const credit = stream.flow.sendCredit();
      if (credit === 0 && data.byteLength > 0) {
        await waitCredit();
        continue;
      }
      const n = Math.min(credit, MAX_DATA_PAYLOAD, data.byteLength - offset);
      const last = offset + n === data.byteLength;
      const marks = flags ? { ...(flags.text ? { text: true as const } : {}), ...(!last || flags.more ? { more: true as const } : {}) } : {};
      if (!link.send({ type: 'data', streamId: id, data: data.subarray(offset, offset + n), ...marks })) return false;
      stats.sent += n;
      offset += n;
    } while (offset < data.byteLength);
    return true;
  }

  return {
    id,
    stream,
    stats,
    response: response.promise,
    reset: reset.promise,
    ended: ended.promise,
    messages,
    /** Sends a request body from chunks (any sizes), then END unless `end` is false. */
    async sendBody(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, end = true): Promise<boolean> {
      for await (const chunk of chunks) if (!(await sendData(chunk))) return false;
      return end ? link.send({ type: 'end', streamId: id }) : true;
    },
    end: (close?: { code: number; reason: string }) => link.send(close ? { type: 'end', streamId: id, close } : { type: 'end', streamId: id }),
    cancel: (code: number, reason = 'test cancel') => link.send({ type: 'reset', streamId: id, code, reason }),
    /** Sends one WebSocket message as DATA fragments under the credit. */
    async sendMessage(message: WebSocketMessage): Promise<boolean> {
      for (const frame of messageFrames(id, message)) {
        if (!(await sendData(frame.data, { ...(frame.text ? { text: true } : {}), ...(frame.more ? { more: true } : {}) }))) return false;
      }
      return true;
    },
    /** The next response chunk (granting its credit), or null at END / after RESET. */
    async read(): Promise<Uint8Array | null> {
      for (;;) {
        const chunk = queue.shift();
        if (chunk) {
          if (!opts.autoRead) release(chunk.byteLength);
          return chunk;
        }
        if (finished) return null;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    /** Reads the whole response body. */
    async readAll(): Promise<Buffer> {
      const parts: Uint8Array[] = [];
      for (let c = await this.read(); c; c = await this.read()) parts.push(c);
      return Buffer.concat(parts);
    },
    /** The next WebSocket message. */
    async nextMessage(timeoutMs = 5000): Promise<WebSocketMessage> {
      const deadline = Date.now() + timeoutMs;
      while (messages.length === 0) {
        if (finished || Date.now() > deadline) throw new Error(`no message on stream ${id}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 20);
        });
      }
      return messages.shift() as WebSocketMessage;
    },
    /** A frame from the agent on this stream, already accepted by the peer's state machine. */
    receive(frame: StreamFrame): void {
      switch (frame.type) {
        case 'response':
          return response.resolve(frame.head);
        case 'data': {
          stats.received += frame.data.byteLength;
          unreleased += frame.data.byteLength;
          stats.maxUnreleased = Math.max(stats.maxUnreleased, unreleased);
          if (stream.upgraded()) {
            const assembled = assembler.push(frame);
            release(frame.data.byteLength);
            if (assembled.ok && assembled.message !== undefined) messages.push(assembled.message);
          } else {
            queue.push(frame.data.slice());
            if (opts.autoRead) release(frame.data.byteLength);
          }
          return poke();
        }
        case 'end':
          finished = true;
          ended.resolve(frame.close);
          return poke();
        case 'reset':
          finished = true;
          reset.resolve(frame);
          creditWake?.();
          return poke();
        case 'window_update': {
          stats.windowUpdates++;
          const w = creditWake;
          creditWake = undefined;
          return w?.();
        }
        default:
          return;
      }
    },
    /** The socket closed. */
    lost(): void {
      finished = true;
      creditWake?.();
      poke();
    },
  };
}
