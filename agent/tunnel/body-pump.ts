/**
 * Sends a local body (a Node Readable: a local HTTP response) to the cloud as DATA frames under flow control, then
 * END. The local body is paused whenever the stream's send credit runs out or the tunnel socket is congested, so what
 * the agent holds per stream stays about one frame however slow the cloud's reader is (docs/tunnel-protocol.md §6).
 */
import type { Readable } from 'node:stream';
import { MAX_DATA_PAYLOAD } from '../../lib/tunnel/index.ts';
import type { StreamLink } from './link.ts';

/** Callbacks of `pumpBody`. */
export interface PumpHooks {
  /** `bytes` of body went out in a DATA frame. */
  sent(bytes: number): void;
  /** END went out: the body is complete. */
  done(): void;
  /** The local body broke before its end (or the link refused a frame); the caller resets the stream. */
  failed(reason: string): void;
}

/** A running body pump. */
export interface BodyPump {
  /** Sends what the credit allows; call it on every WINDOW_UPDATE. */
  flush(): void;
  /** Stops pumping and destroys the local body (after a RESET). */
  stop(): void;
}

/** Starts pumping `source` into the link's stream. */
export function pumpBody(link: StreamLink, source: Readable, hooks: PumpHooks): BodyPump {
  const id = link.stream.id;
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let finished = false;

  const fail = (reason: string) => {
    if (finished) return;
    finished = true;
    queue.length = 0;
    source.destroy();
    hooks.failed(reason);
  };

  function flush(): void {
    while (!finished && queue.length > 0) {
      if (link.congested()) return link.whenWritable(flush);
      const credit = link.stream.flow.sendCredit();
      // No credit: the cloud's WINDOW_UPDATE calls flush again.
      if (credit === 0) return;
      const head = queue[0] as Uint8Array;
      const n = Math.min(head.byteLength, credit, MAX_DATA_PAYLOAD);
      if (!link.send({ type: 'data', streamId: id, data: head.subarray(0, n) })) return fail('the tunnel refused a DATA frame');
      hooks.sent(n);
      queued -= n;
      if (n === head.byteLength) queue.shift();
      else queue[0] = head.subarray(n);
    }
    if (finished) return;
    if (!ended) {
      if (source.isPaused()) source.resume();
      return;
    }
    finished = true;
    if (!link.send({ type: 'end', streamId: id })) return hooks.failed('the tunnel refused END');
    hooks.done();
  }

  source.on('data', (chunk: Buffer | string) => {
    if (finished) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (bytes.byteLength === 0) return;
    queue.push(bytes);
    queued += bytes.byteLength;
    // Hold at most about one frame beyond what the socket and the credit take.
    if (queued >= MAX_DATA_PAYLOAD) source.pause();
    flush();
  });
  source.on('end', () => {
    ended = true;
    flush();
  });
  source.on('error', (err: Error) => fail(`local body failed: ${err.message}`));
  source.on('close', () => {
    if (!ended) fail('local body closed early');
  });

  return {
    flush,
    stop() {
      finished = true;
      queue.length = 0;
      source.destroy();
    },
  };
}
