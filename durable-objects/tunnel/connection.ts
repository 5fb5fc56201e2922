import {
  CloseCode,
  ErrorCode,
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  controlSender,
  createBatcher,
  createStreamTable,
  decodeFrame,
  encodeControl,
  encodeFrame,
  encodeGoaway,
  encodePong,
  frameError,
  splitMessage,
  type CloudControlMessage,
  type ControlMessage,
  type FrameError,
  type OpenRefusal,
  type RequestHead,
  type StreamFrame,
  type TunnelStream,
} from '../../lib/tunnel/index.ts';
import type { SocketState } from './socket-state.ts';

/**
 * The cloud side of one agent connection (docs/tunnel-protocol.md §14): the stream table, frame dispatch to the
 * proxied requests, control messages and protocol errors. It lives in memory while the object is awake and is rebuilt
 * from the socket's attachment after hibernation. Nothing the agent sends can throw out of `receive`.
 */

/** What a proxied request hears about its stream. */
export type StreamEvents = {
  /** A frame the agent sent on the stream, already accepted by the state machine (a RESET may also be a local error). */
  frame(frame: StreamFrame): void;
  /** The stream is gone without a frame: the socket closed (`disconnected`) or the agent's GOAWAY dropped it (`refused`). */
  lost(reason: 'disconnected' | 'refused'): void;
};

/** Why a stream could not be opened: the table's refusals, or `not_ready` before the agent's `hello`. */
export type OpenOutcome = { ok: true; stream: TunnelStream } | { ok: false; refused: OpenRefusal | 'not_ready' | 'closed' };

/** Callbacks into the object. */
export type ConnectionHooks = {
  /** The agent said `hello` (its version and settings are in the new state, which is already persisted). */
  hello(state: SocketState): void;
  /** The connection failed with a protocol error and was closed. */
  failed(error: FrameError): void;
};

/** One live agent connection. */
export type Connection = ReturnType<typeof createConnection>;

/** Builds the runtime of an accepted agent socket from its state. */
export function createConnection(ws: WebSocket, initial: SocketState, hooks: ConnectionHooks) {
  let state = initial;
  // The protocol defaults (docs/tunnel-protocol.md §6), announced to the agent in `config` (`settings` below): a window
  // the agent was not told about would leave it sending against the default while this side waits for more to drain.
  const table = createStreamTable({ side: 'cloud' });
  if (state.peerSettings) table.setPeerSettings(state.peerSettings);
  // Local ids restart at 1 in a rebuilt table; on the wire they continue above every id already used (an even offset keeps parity).
  const base = state.lastWireId === 0 ? 0 : state.lastWireId + 1;
  const toWire = (id: number) => (id % 2 === 1 ? id + base : id);
  const handlers = new Map<number, StreamEvents>();
  let waiters: ((ready: boolean) => void)[] = [];
  let open = true;
  let lastFrameAt = 0;

  const persist = (next: SocketState) => {
    state = next;
    ws.serializeAttachment(state);
  };

  function sendMessage(message: Uint8Array | string): boolean {
    if (!open) return false;
    try {
      ws.send(message);
      return true;
    } catch {
      lose();
      return false;
    }
  }
  // Frames written in one turn (an OPEN and its END, a burst of WINDOW_UPDATEs) leave as one message once the agent
  // accepts batches (§1.1); the heartbeat's text goes as it is.
  const batcher = createBatcher({ write: sendMessage, schedule: (flush) => queueMicrotask(flush) });
  if (state.peerSettings?.batchFrames) batcher.enable();
  const write = (message: Uint8Array | string): boolean => (typeof message === 'string' || !open ? sendMessage(message) : batcher.push(message));

  /** Drops the handler of a stream the table has forgotten. */
  const sweep = (id: number) => {
    if (!table.get(id)) handlers.delete(id);
  };

  function send(frame: StreamFrame): boolean {
    const result = table.send(frame);
    if (!result.ok || result.ignore) {
      sweep(frame.streamId);
      return false;
    }
    const sent = write(encodeFrame({ ...frame, streamId: toWire(frame.streamId) }));
    sweep(frame.streamId);
    return sent;
  }

  function lose(): void {
    if (!open && handlers.size === 0) return;
    open = false;
    for (const resolve of waiters) resolve(false);
    waiters = [];
    const lost = [...handlers.values()];
    handlers.clear();
    for (const events of lost) events.lost('disconnected');
  }

  function connectionError(error: FrameError): void {
    write(encodeGoaway(table.goaway(), error.code, error.message));
    batcher.flush();
    try {
      ws.close(error.code === ErrorCode.UNSUPPORTED_VERSION ? CloseCode.UNSUPPORTED_VERSION : CloseCode.PROTOCOL_ERROR, 'protocol error');
    } catch {
      /* already closing */
    }
    lose();
    hooks.failed(error);
  }

  function fail(error: FrameError): void {
    const reset = table.fail(error);
    if (!reset) return connectionError(error);
    write(encodeFrame({ ...reset, streamId: toWire(reset.streamId) }));
    const events = handlers.get(reset.streamId);
    handlers.delete(reset.streamId);
    events?.frame(reset);
  }

  // Decoder errors name the stream by its wire id.
  function failWire(error: FrameError): void {
    const wireId = error.streamId;
    if (wireId === undefined || wireId % 2 === 0) return fail(error);
    if (wireId - base > 0) return fail({ ...error, streamId: wireId - base });
    write(encodeFrame({ type: 'reset', streamId: wireId, code: error.code, reason: error.message }));
  }

  function control(message: ControlMessage): void {
    if (controlSender(message) !== 'agent' || message.type !== 'hello') {
      return connectionError(frameError(ErrorCode.PROTOCOL_ERROR, `control message ${message.type} comes from the cloud, not the agent`));
    }
    table.setPeerSettings(message.settings ?? {});
    if (table.peerBatches()) batcher.enable();
    persist({ ...state, agentVersion: message.agentVersion, peerSettings: message.settings ?? {} });
    for (const resolve of waiters) resolve(true);
    waiters = [];
    hooks.hello(state);
  }

  function streamFrame(wire: StreamFrame): void {
    let id = wire.streamId;
    if (id % 2 === 1) {
      id -= base;
      // A stream of this connection from before the object hibernated: it crossed its END or RESET on the wire.
      if (id <= 0) return;
    }
    const frame: StreamFrame = id === wire.streamId ? wire : { ...wire, streamId: id };
    const routed = table.receive(frame);
    if (!routed.ok) return fail(routed.error);
    if (routed.ignore || !routed.stream) return;
    // Version 1 agents open no streams (§4): refuse one so that the agent can tell.
    if (frame.type === 'open') return fail(frameError(ErrorCode.REFUSED_STREAM, 'the cloud accepts no agent-opened streams', id));
    handlers.get(id)?.frame(frame);
    sweep(id);
  }

  /** Handles one message from the agent; never throws for anything the agent sends. */
  function receive(message: string | ArrayBuffer): void {
    lastFrameAt = Date.now();
    if (typeof message === 'string') {
      // The auto-response normally answers the heartbeat without waking the object; this is the awake fallback.
      if (message === HEARTBEAT_PING) return void write(HEARTBEAT_PONG);
      return connectionError(frameError(ErrorCode.PROTOCOL_ERROR, 'text messages other than the heartbeat are not allowed'));
    }
    // A frame that closed the connection leaves the rest of its message unread.
    for (const bytes of splitMessage(message)) if (open) receiveFrame(bytes);
  }

  function receiveFrame(bytes: Uint8Array): void {
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) return failWire(decoded.error);
    const frame = decoded.frame;
    switch (frame.type) {
      case 'skip':
      case 'pong':
        return;
      case 'ping':
        return void write(encodePong(frame.data));
      case 'goaway': {
        // Streams above the agent's last processed id were not processed: safe to answer 503 (retry).
        for (const dropped of table.receiveGoaway(Math.max(0, frame.lastStreamId - base))) {
          const events = handlers.get(dropped.id);
          handlers.delete(dropped.id);
          events?.lost('refused');
        }
        return;
      }
      case 'control':
        return control(frame.message);
      default:
        return streamFrame(frame);
    }
  }

  return {
    ws,
    state: () => state,
    /** True once the agent's `hello` has arrived, so streams may be opened. */
    ready: () => state.peerSettings !== null && open,
    /** Resolves true when the agent is ready (at once if it is), false on timeout or disconnect. */
    whenReady(timeoutMs: number): Promise<boolean> {
      if (!open) return Promise.resolve(false);
      if (state.peerSettings !== null) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        waiters.push((ready) => {
          clearTimeout(timer);
          resolve(ready);
        });
      });
    },
    /** Opens a stream for a proxied request and sends its OPEN; `events` hears the agent's frames on it. */
    open(head: RequestHead, events: StreamEvents): OpenOutcome {
      if (!open) return { ok: false, refused: 'closed' };
      if (state.peerSettings === null) return { ok: false, refused: 'not_ready' };
      const opened = table.open(head);
      if (!opened.ok) return { ok: false, refused: opened.refused };
      handlers.set(opened.stream.id, events);
      const wireId = toWire(opened.stream.id);
      persist({ ...state, lastWireId: wireId });
      if (!write(encodeFrame({ ...opened.frame, streamId: wireId }))) return { ok: false, refused: 'closed' };
      return { ok: true, stream: opened.stream };
    },
    /** Sends a frame on an open stream (checked by the state machine first); false when it was not sent. */
    send,
    /** What this side accepts, for the `config` message. */
    settings: table.settings,
    /** Sends a control message to the agent. */
    control: (message: CloudControlMessage): boolean => write(encodeControl(message)),
    receive,
    /** The socket is gone: every stream hears `lost`. */
    lose,
    /** How many proxied streams are live. */
    active: () => table.active(),
    /** When the agent last sent a frame (ms), while this runtime has been alive; 0 if never. */
    lastFrameAt: () => lastFrameAt,
  };
}
