/**
 * The state machine of one stream, modelled on RFC 9113 §5.1 with HTTP's request/response order on top: the opener
 * sends OPEN then body then END; the responder sends RESPONSE then body then END; either may RESET at any time.
 * Every frame sent or received goes through `send`/`receive`, which answer with a result instead of throwing, so an
 * out-of-order frame becomes a RESET (or a dropped frame) and never an exception in the Durable Object or the agent.
 */
import { createFlowWindow, type FlowWindow } from './flow.ts';
import { ErrorCode, type ErrorCodeValue, type FrameError, type StreamFrame, frameError } from './frame.ts';

/** Stream states (RFC 9113 §5.1 without the reserved states, which need server push). */
export type StreamState = 'idle' | 'open' | 'half_closed_local' | 'half_closed_remote' | 'closed';

/** This side's part on a stream: the opener sent OPEN, the responder received it. */
export type StreamRole = 'opener' | 'responder';

/**
 * The outcome of one frame. `ignore: true` means "drop it": a frame received after a RESET (it was in flight), or a
 * WINDOW_UPDATE not worth sending. An error with the stream's id means reset the stream with `error.code`.
 */
export type StreamResult = { readonly ok: true; readonly ignore: boolean } | { readonly ok: false; readonly error: FrameError };

/** Options of `createStream`. */
export interface StreamOptions {
  readonly id: number;
  readonly role: StreamRole;
  /** The peer's receive window for this stream (what this side may send before a WINDOW_UPDATE). */
  readonly sendWindow?: number;
  /** This side's receive window for this stream. */
  readonly receiveWindow?: number;
}

/** One stream's state and flow-control windows. */
export interface TunnelStream {
  readonly id: number;
  readonly role: StreamRole;
  /** Credit and window bookkeeping; DATA sent and received through this stream is accounted automatically. */
  readonly flow: FlowWindow;
  /** The current state. */
  state(): StreamState;
  /** True once a WebSocket upgrade was accepted (OPEN with `websocket`, answered 101): DATA then carries messages. */
  upgraded(): boolean;
  /** Checks and records a frame this side is about to send; on an error, do not send it. */
  send(frame: StreamFrame): StreamResult;
  /** Checks and records a frame received from the peer. */
  receive(frame: StreamFrame): StreamResult;
}

const PASS: StreamResult = { ok: true, ignore: false };
const DROP: StreamResult = { ok: true, ignore: true };

/** Creates the state machine of stream `id`, in state idle. */
export function createStream(opts: StreamOptions): TunnelStream {
  const { id, role } = opts;
  const flow = createFlowWindow({ sendWindow: opts.sendWindow, receiveWindow: opts.receiveWindow, streamId: id });
  let opened = false;
  let websocket = false;
  let upgraded = false;
  let localHead = false;
  let remoteHead = false;
  let localEnded = false;
  let remoteEnded = false;
  let reset: 'none' | 'sent' | 'received' = 'none';

  const fail = (code: ErrorCodeValue, message: string): StreamResult => ({ ok: false, error: frameError(code, message, id) });
  const state = (): StreamState => {
    if (reset !== 'none' || (localEnded && remoteEnded)) return 'closed';
    if (!opened) return 'idle';
    if (localEnded) return 'half_closed_local';
    return remoteEnded ? 'half_closed_remote' : 'open';
  };
  // WebSocket fragments and close payloads only make sense once the upgrade has been accepted.
  const messageFlags = (frame: StreamFrame): boolean =>
    (frame.type === 'data' && (frame.text === true || frame.more === true)) || (frame.type === 'end' && frame.close !== undefined);
  // The opener of an upgrade may not send body bytes before the 101: there is no request body on an upgrade.
  const bodyAllowed = (sender: StreamRole): boolean => !(websocket && sender === 'opener' && !upgraded);

  function send(frame: StreamFrame): StreamResult {
    if (frame.streamId !== id) return fail(ErrorCode.INTERNAL, `frame for stream ${frame.streamId} sent on stream ${id}`);
    if (reset !== 'none') return frame.type === 'reset' || frame.type === 'window_update' ? DROP : fail(ErrorCode.STREAM_CLOSED, 'stream was reset');
    switch (frame.type) {
      case 'open':
        if (role !== 'opener' || opened) return fail(ErrorCode.INTERNAL, 'OPEN sent twice or by the responder');
        opened = localHead = true;
        websocket = frame.head.websocket === true;
        return PASS;
      case 'response':
        if (role !== 'responder' || !opened || localHead) return fail(ErrorCode.INTERNAL, 'RESPONSE sent out of order');
        if (localEnded) return fail(ErrorCode.STREAM_CLOSED, 'RESPONSE after END');
        if (frame.head.status === 101 && !websocket) return fail(ErrorCode.INTERNAL, '101 answers only a WebSocket upgrade');
        localHead = true;
        upgraded = frame.head.status === 101;
        return PASS;
      case 'data':
      case 'end': {
        if (!localHead) return fail(ErrorCode.INTERNAL, `${frame.type.toUpperCase()} sent before the head`);
        if (localEnded) return fail(ErrorCode.STREAM_CLOSED, `${frame.type.toUpperCase()} sent after END`);
        if (messageFlags(frame) && !upgraded) return fail(ErrorCode.INTERNAL, 'WebSocket message flags on a stream that is not upgraded');
        if (frame.type === 'end') {
          localEnded = true;
          return PASS;
        }
        if (!bodyAllowed(role)) return fail(ErrorCode.INTERNAL, 'DATA sent before the WebSocket upgrade was accepted');
        const spent = flow.consume(frame.data.byteLength);
        return spent.ok ? PASS : spent;
      }
      case 'reset':
        if (!opened) return fail(ErrorCode.INTERNAL, 'RESET of a stream never opened');
        reset = 'sent';
        return PASS;
      case 'window_update':
        // No point granting credit the peer can no longer use.
        return remoteEnded || !opened ? DROP : PASS;
    }
  }

  function receive(frame: StreamFrame): StreamResult {
    if (frame.streamId !== id) return fail(ErrorCode.INTERNAL, `frame for stream ${frame.streamId} routed to stream ${id}`);
    // After a RESET either way, whatever was already in flight is dropped (RFC 9113 §5.1 "closed").
    if (reset !== 'none') return DROP;
    const peer: StreamRole = role === 'opener' ? 'responder' : 'opener';
    switch (frame.type) {
      case 'open':
        if (role !== 'responder' || opened) return fail(ErrorCode.PROTOCOL_ERROR, 'OPEN received twice or by the opener');
        opened = remoteHead = true;
        websocket = frame.head.websocket === true;
        return PASS;
      case 'response':
        if (role !== 'opener') return fail(ErrorCode.PROTOCOL_ERROR, 'RESPONSE received by the responder');
        if (remoteHead) return fail(ErrorCode.PROTOCOL_ERROR, 'RESPONSE received twice');
        if (frame.head.status === 101 && !websocket) return fail(ErrorCode.PROTOCOL_ERROR, '101 without a WebSocket upgrade request');
        remoteHead = true;
        upgraded = frame.head.status === 101;
        return PASS;
      case 'data':
      case 'end': {
        const name = frame.type.toUpperCase();
        if (!remoteHead) return fail(ErrorCode.PROTOCOL_ERROR, `${name} before the ${role === 'opener' ? 'RESPONSE' : 'OPEN'}`);
        if (remoteEnded) return fail(ErrorCode.STREAM_CLOSED, `${name} after END`);
        if (messageFlags(frame) && !upgraded) return fail(ErrorCode.PROTOCOL_ERROR, 'WebSocket message flags on a stream that is not upgraded');
        if (frame.type === 'end') {
          remoteEnded = true;
          return PASS;
        }
        if (!bodyAllowed(peer)) return fail(ErrorCode.PROTOCOL_ERROR, 'DATA before the WebSocket upgrade was accepted');
        const taken = flow.receive(frame.data.byteLength);
        return taken.ok ? PASS : taken;
      }
      case 'reset':
        reset = 'received';
        return PASS;
      case 'window_update': {
        // Credit for a direction this side already ended is meaningless but legal: the update crossed our END.
        if (localEnded) return DROP;
        const granted = flow.grant(frame.increment);
        return granted.ok ? PASS : granted;
      }
    }
  }

  return { id, role, flow, state, upgraded: () => upgraded, send, receive };
}
