/**
 * The streams of one tunnel connection: id allocation (the cloud opens odd ids, the agent even ones, each increasing
 * and never reused), the concurrent-stream limits both sides announce, routing of received frames to their stream,
 * and the rules for frames on streams that are unknown or already forgotten. One table per WebSocket, on each side.
 */
import type { RequestHead, Settings } from './control.ts';
import { describeIssues, requestHeadSchema } from './control.ts';
import { DEFAULT_INITIAL_WINDOW } from './flow.ts';
import {
  ErrorCode,
  type ErrorCodeValue,
  type FrameError,
  MAX_STREAM_ID,
  type OpenFrame,
  type ResetFrame,
  type StreamFrame,
  frameError,
} from './frame.ts';
import { createStream, type StreamResult, type TunnelStream } from './stream.ts';

/** 64 streams × a 256 KiB window bounds what one connection can make a side buffer at 16 MiB. */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 64;

/** Which end of the tunnel this table is: the Durable Object ("cloud") or the device agent. */
export type Side = 'cloud' | 'agent';

/** The first stream id a side opens: odd for the cloud, even for the agent (0 is the connection itself). */
export const firstStreamId = (side: Side): number => (side === 'cloud' ? 1 : 2);

/** Options of `createStreamTable`. */
export interface StreamTableOptions {
  readonly side: Side;
  /** What this side accepts; announce the same values in `hello` (agent) or `config` (cloud). */
  readonly settings?: Settings;
}

/** A frame routed to its stream: `stream` is undefined (and `ignore` true) for a frame on a stream already forgotten. */
export type RouteResult =
  | { readonly ok: true; readonly stream: TunnelStream | undefined; readonly ignore: boolean }
  | { readonly ok: false; readonly error: FrameError };

/**
 * Why `open` declined. These are local outcomes, not protocol errors: the connection is fine. `limit` means wait for a
 * stream to finish (or answer 503), `going_away` and `ids_exhausted` mean use a new connection, `invalid_head` means 400.
 */
export type OpenRefusal = 'limit' | 'going_away' | 'ids_exhausted' | 'invalid_head';

/** A stream this side opened, with the OPEN frame to encode and send, or why it could not be opened. */
export type OpenResult =
  | { readonly ok: true; readonly stream: TunnelStream; readonly frame: OpenFrame }
  | { readonly ok: false; readonly refused: OpenRefusal; readonly message: string };

/** The stream bookkeeping of one connection. */
export interface StreamTable {
  readonly side: Side;
  /** This side's effective settings, to announce to the peer. */
  readonly settings: Required<Settings>;
  /** Opens a stream with a request head, unless the peer's limit is reached, ids ran out, either side sent GOAWAY or the head is invalid. */
  open(head: RequestHead): OpenResult;
  /** Routes a received stream frame; OPEN creates the responder's stream. */
  receive(frame: StreamFrame): RouteResult;
  /** Checks and records a frame this side is about to send on an existing stream. */
  send(frame: StreamFrame): StreamResult;
  /** Turns a stream-level error (from `decodeFrame`, `receive` or `send`) into the RESET to send; undefined means close the connection. */
  fail(error: FrameError): ResetFrame | undefined;
  /** The live stream with this id. */
  get(id: number): TunnelStream | undefined;
  /** Every live stream, for tearing them down when the socket closes. */
  all(): TunnelStream[];
  /** How many streams are live. */
  active(): number;
  /** Applies the peer's announced settings to streams opened from now on. */
  setPeerSettings(settings: Settings): void;
  /** True once the peer has announced that it accepts batched messages (§1.1). */
  peerBatches(): boolean;
  /** Stops accepting streams and returns the last peer stream id to put in this side's GOAWAY. */
  goaway(): number;
  /** Records the peer's GOAWAY and removes the streams it will not process, which the caller fails or retries. */
  receiveGoaway(lastStreamId: number): TunnelStream[];
}

/** Creates the stream table of one connection for the given side. */
export function createStreamTable(opts: StreamTableOptions): StreamTable {
  const { side } = opts;
  const settings: Required<Settings> = {
    maxConcurrentStreams: opts.settings?.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
    initialWindow: opts.settings?.initialWindow ?? DEFAULT_INITIAL_WINDOW,
    batchFrames: opts.settings?.batchFrames ?? true,
  };
  // A peer that says nothing about batches gets one frame per message.
  let peer: Required<Settings> = { maxConcurrentStreams: DEFAULT_MAX_CONCURRENT_STREAMS, initialWindow: DEFAULT_INITIAL_WINDOW, batchFrames: false };
  const live = new Map<number, TunnelStream>();
  const localParity = firstStreamId(side) % 2;
  let nextLocalId = firstStreamId(side);
  let lastPeerId = 0;
  let goingAway = false;
  let peerGoingAway = false;

  const isLocalId = (id: number): boolean => id % 2 === localParity;
  const connectionError = (code: ErrorCodeValue, message: string) => ({ ok: false as const, error: frameError(code, message) });
  const streamError = (code: ErrorCodeValue, message: string, id: number) => ({ ok: false as const, error: frameError(code, message, id) });
  const sweep = (stream: TunnelStream): void => {
    if (stream.state() === 'closed') live.delete(stream.id);
  };
  const count = (local: boolean): number => {
    let n = 0;
    for (const id of live.keys()) if (isLocalId(id) === local) n++;
    return n;
  };

  function open(head: RequestHead): OpenResult {
    const refuse = (refused: OpenRefusal, message: string): OpenResult => ({ ok: false, refused, message });
    if (goingAway || peerGoingAway) return refuse('going_away', 'the connection is going away');
    if (nextLocalId > MAX_STREAM_ID) return refuse('ids_exhausted', 'stream ids exhausted: reconnect');
    if (count(true) >= peer.maxConcurrentStreams) return refuse('limit', "the peer's concurrent stream limit is reached");
    const parsed = requestHeadSchema.safeParse(head);
    if (!parsed.success) return refuse('invalid_head', `invalid request head: ${describeIssues(parsed.error)}`);
    const stream = createStream({ id: nextLocalId, role: 'opener', sendWindow: peer.initialWindow, receiveWindow: settings.initialWindow });
    nextLocalId += 2;
    const frame: OpenFrame = { type: 'open', streamId: stream.id, head: parsed.data };
    stream.send(frame);
    live.set(stream.id, stream);
    return { ok: true, stream, frame };
  }

  function accept(frame: OpenFrame): RouteResult {
    const id = frame.streamId;
    if (isLocalId(id)) return connectionError(ErrorCode.PROTOCOL_ERROR, `OPEN on stream ${id}, an id reserved for the ${side}`);
    // Ids only grow (RFC 9113 §5.1.1), which is also what makes "id ≤ last" mean "a stream we have forgotten".
    if (id <= lastPeerId) return connectionError(ErrorCode.PROTOCOL_ERROR, `OPEN reuses stream id ${id}`);
    lastPeerId = id;
    if (goingAway) return streamError(ErrorCode.REFUSED_STREAM, 'going away', id);
    if (count(false) >= settings.maxConcurrentStreams) return streamError(ErrorCode.REFUSED_STREAM, 'too many concurrent streams', id);
    const stream = createStream({ id, role: 'responder', sendWindow: peer.initialWindow, receiveWindow: settings.initialWindow });
    live.set(id, stream);
    const result = stream.receive(frame);
    return result.ok ? { ok: true, stream, ignore: false } : result;
  }

  function receive(frame: StreamFrame): RouteResult {
    if (frame.type === 'open') return accept(frame);
    const stream = live.get(frame.streamId);
    if (stream) {
      const result = stream.receive(frame);
      sweep(stream);
      return result.ok ? { ok: true, stream, ignore: result.ignore } : result;
    }
    const last = isLocalId(frame.streamId) ? nextLocalId - 2 : lastPeerId;
    // A stream that existed and was forgotten: this frame crossed its RESET or END on the wire.
    if (frame.streamId <= last) return { ok: true, stream: undefined, ignore: true };
    return connectionError(ErrorCode.PROTOCOL_ERROR, `${frame.type} on stream ${frame.streamId}, which was never opened`);
  }

  function send(frame: StreamFrame): StreamResult {
    const stream = live.get(frame.streamId);
    if (!stream) {
      // Refusing a stream that was never created (REFUSED_STREAM, a bad OPEN) still needs its RESET to go out.
      if (frame.type === 'reset') return { ok: true, ignore: false };
      return streamError(ErrorCode.STREAM_CLOSED, `no live stream ${frame.streamId}`, frame.streamId);
    }
    const result = stream.send(frame);
    sweep(stream);
    return result;
  }

  function fail(error: FrameError): ResetFrame | undefined {
    const id = error.streamId;
    if (id === undefined) return undefined;
    const reset: ResetFrame = { type: 'reset', streamId: id, code: error.code, reason: error.message };
    const stream = live.get(id);
    if (stream) {
      stream.send(reset);
      live.delete(id);
    } else if (!isLocalId(id) && id > lastPeerId) {
      // A peer stream whose OPEN was refused by the decoder: later frames on it must count as forgotten, not idle.
      lastPeerId = id;
    }
    return reset;
  }

  function receiveGoaway(lastStreamId: number): TunnelStream[] {
    peerGoingAway = true;
    const dropped = [...live.values()].filter((s) => isLocalId(s.id) && s.id > lastStreamId);
    for (const s of dropped) live.delete(s.id);
    return dropped;
  }

  return {
    side,
    settings,
    open,
    receive,
    send,
    fail,
    get: (id) => live.get(id),
    all: () => [...live.values()],
    active: () => live.size,
    peerBatches: () => peer.batchFrames,
    setPeerSettings(next) {
      peer = {
        maxConcurrentStreams: next.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
        initialWindow: next.initialWindow ?? DEFAULT_INITIAL_WINDOW,
        batchFrames: next.batchFrames ?? false,
      };
    },
    goaway() {
      goingAway = true;
      return lastPeerId;
    },
    receiveGoaway,
  };
}
