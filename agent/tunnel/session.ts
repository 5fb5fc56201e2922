/**
 * The agent side of one tunnel connection (docs/tunnel-protocol.md §14): `hello` first, then every message from the
 * cloud decoded and validated by lib/tunnel, streams the cloud opens handed to an HTTP or WebSocket handler, control
 * messages passed up, the heartbeat, protocol errors answered with RESET or GOAWAY + close, and the graceful drain.
 * Nothing the cloud sends can throw out of this module.
 */
import type { Agent as HttpAgent } from 'node:http';
import { WebSocket, type RawData } from 'ws';
import {
  CloseCode, ErrorCode, HEARTBEAT_PING, HEARTBEAT_PONG, controlSender, createStreamTable, decodeFrame, encodeControl,
  encodeFrame, encodeGoaway, encodePong, frameError, splitMessage,
  type CloudControlMessage, type FrameError, type GoawayFrame, type Settings, type StreamFrame,
} from '../../lib/tunnel/index.ts';
import type { ForwardTarget } from './forward.ts';
import { createHeartbeat } from './heartbeat.ts';
import { startHttpStream } from './http-stream.ts';
import type { RequestRecord, StreamHandler, StreamLink } from './link.ts';
import { createSocketWriter } from './socket-writer.ts';
import { startWebSocketStream } from './ws-stream.ts';

/** What a session needs and whom it tells. */
export interface SessionOptions {
  readonly target: ForwardTarget;
  readonly httpAgent: HttpAgent;
  readonly agentVersion: string;
  /** What this agent accepts (announced in `hello`). */
  readonly settings?: Settings;
  /** Heartbeat timing until the cloud's `config` says otherwise. */
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  /** The socket queue's high-water mark, in bytes. */
  readonly highWater?: number;
  /** A control message from the cloud (config, claim_code, device_token, claimed). */
  readonly onControl: (message: CloudControlMessage) => void;
  readonly onRequest: (record: RequestRecord) => void;
  readonly onGoaway: (frame: GoawayFrame) => void;
  /** A connection-level protocol error (sent or heartbeat-detected), just before this side closes. */
  readonly onConnectionError: (error: FrameError) => void;
}

/** How a connection ended: the close this side sent, else the one it received. */
export interface SessionEnd {
  readonly code: number;
  readonly reason: string;
  readonly by: 'agent' | 'cloud';
}

/** A live connection. */
export interface Session {
  /** Resolves when the socket has closed. */
  readonly closed: Promise<SessionEnd>;
  /** GOAWAY, no new streams, in-flight ones finish up to `deadlineMs` (then are reset), then close 1000. */
  shutdown(deadlineMs: number): Promise<SessionEnd>;
  /** Closes now with `code` (the streams are lost). */
  close(code: number, reason: string): void;
  /** How many streams are in flight. */
  active(): number;
}

/** Runs the tunnel protocol on an open WebSocket. */
export function startSession(ws: WebSocket, opts: SessionOptions): Session {
  const table = createStreamTable({ side: 'agent', settings: opts.settings });
  const writer = createSocketWriter(ws, opts.highWater);
  const handlers = new Map<number, StreamHandler>();
  let localClose: { code: number; reason: string } | undefined;
  let idle: (() => void) | undefined;
  let resolveClosed!: (end: SessionEnd) => void;
  const closed = new Promise<SessionEnd>((resolve) => (resolveClosed = resolve));

  function close(code: number, reason: string): void {
    if (localClose) return;
    localClose = { code, reason };
    heartbeat.stop();
    writer.flush();
    try {
      ws.close(code, reason);
    } catch {
      /* not open */
    }
    // A dead link never completes the close handshake: give it a moment, then drop the TCP connection.
    setTimeout(() => ws.terminate(), 1000).unref();
  }

  function connectionError(error: FrameError): void {
    opts.onConnectionError(error);
    writer.write(encodeGoaway(table.goaway(), error.code, error.message));
    close(error.code === ErrorCode.UNSUPPORTED_VERSION ? CloseCode.UNSUPPORTED_VERSION : CloseCode.PROTOCOL_ERROR, 'protocol error');
  }

  // A stream error: RESET the stream (the table forgets it) and abort its local work.
  function fail(error: FrameError): void {
    const reset = table.fail(error);
    if (!reset) return connectionError(error);
    writer.write(encodeFrame(reset));
    const handler = handlers.get(reset.streamId);
    handlers.delete(reset.streamId);
    handler?.lost(error.code);
  }

  function send(frame: StreamFrame): boolean {
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(frame);
    } catch (err) {
      // A head the local service produced that the protocol cannot carry (too many fields, a bad status).
      if (table.get(frame.streamId)) fail(frameError(ErrorCode.INTERNAL, err instanceof Error ? err.message : 'encode failed', frame.streamId));
      return false;
    }
    const checked = table.send(frame);
    if (!checked.ok) {
      if (table.get(frame.streamId)) fail(checked.error);
      return false;
    }
    return !checked.ignore && writer.write(bytes);
  }

  function linkFor(id: number, stream: NonNullable<ReturnType<typeof table.get>>): StreamLink {
    return {
      stream,
      send,
      congested: writer.congested,
      whenWritable: writer.whenWritable,
      release(bytes) {
        const increment = stream.flow.release(bytes);
        if (increment > 0) send({ type: 'window_update', streamId: id, increment });
      },
      finished(record) {
        handlers.delete(id);
        opts.onRequest(record);
        if (handlers.size === 0) idle?.();
      },
    };
  }

  function streamFrame(frame: StreamFrame): void {
    const routed = table.receive(frame);
    if (!routed.ok) return fail(routed.error);
    if (routed.ignore || !routed.stream) return;
    const id = frame.streamId;
    if (frame.type !== 'open') return handlers.get(id)?.frame(frame);
    const link = linkFor(id, routed.stream);
    const handler = frame.head.websocket
      ? startWebSocketStream(link, frame.head, opts.target)
      : startHttpStream(link, frame.head, { target: opts.target, agent: opts.httpAgent });
    // A handler that failed at once has already called finished().
    if (table.get(id)) handlers.set(id, handler);
  }

  function control(message: CloudControlMessage): void {
    if (message.type === 'config') {
      table.setPeerSettings(message.settings ?? {});
      if (table.peerBatches()) writer.batch();
      heartbeat.configure(
        (message.pingIntervalSeconds ?? opts.pingIntervalMs / 1000) * 1000,
        (message.pingTimeoutSeconds ?? opts.pingTimeoutMs / 1000) * 1000,
      );
    }
    opts.onControl(message);
  }

  function receive(data: RawData, isBinary: boolean): void {
    heartbeat.alive();
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    if (!isBinary) {
      if (Buffer.from(bytes).toString('utf8') === HEARTBEAT_PONG) return;
      return connectionError(frameError(ErrorCode.PROTOCOL_ERROR, 'text messages other than the heartbeat are not allowed'));
    }
    // A frame that closed the connection leaves the rest of its message unread.
    for (const frame of splitMessage(bytes)) if (!localClose) receiveFrame(frame);
  }

  function receiveFrame(bytes: Uint8Array): void {
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) return fail(decoded.error);
    const frame = decoded.frame;
    switch (frame.type) {
      case 'skip':
      case 'pong':
        return;
      case 'ping':
        return void writer.write(encodePong(frame.data));
      case 'goaway':
        table.receiveGoaway(frame.lastStreamId);
        return opts.onGoaway(frame);
      case 'control':
        if (controlSender(frame.message) !== 'cloud' || frame.message.type === 'hello') {
          return connectionError(frameError(ErrorCode.PROTOCOL_ERROR, `control message ${frame.message.type} comes from the agent, not the cloud`));
        }
        return control(frame.message);
      default:
        return streamFrame(frame);
    }
  }

  const heartbeat = createHeartbeat({
    intervalMs: opts.pingIntervalMs,
    timeoutMs: opts.pingTimeoutMs,
    ping: () => void writer.write(HEARTBEAT_PING),
    dead: () => {
      opts.onConnectionError(frameError(ErrorCode.TIMEOUT, `no heartbeat answer within ${opts.pingTimeoutMs / 1000} s`));
      close(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
    },
  });

  ws.on('message', (data: RawData, isBinary: boolean) => {
    try {
      receive(data, isBinary);
    } catch (err) {
      // Unreachable by design (lib/tunnel never throws on peer input); a bug costs the connection, not the process.
      connectionError(frameError(ErrorCode.INTERNAL, err instanceof Error ? err.message : 'internal error'));
    }
  });
  ws.on('close', (code: number, reason: Buffer) => {
    heartbeat.stop();
    writer.clear();
    const lost = [...handlers.values()];
    handlers.clear();
    for (const handler of lost) handler.lost(ErrorCode.CANCEL);
    resolveClosed(localClose ? { ...localClose, by: 'agent' } : { code, reason: reason.toString('utf8'), by: 'cloud' });
  });
  writer.write(encodeControl({ type: 'hello', agentVersion: opts.agentVersion, settings: table.settings }));

  let draining: Promise<SessionEnd> | undefined;
  let cutShort: (() => void) | undefined;

  async function drain(deadlineMs: number): Promise<SessionEnd> {
    if (localClose || ws.readyState !== WebSocket.OPEN) return closed;
    writer.write(encodeGoaway(table.goaway(), ErrorCode.NO_ERROR, 'agent shutting down'));
    if (handlers.size > 0) {
      const timer = setTimeout(() => cutShort?.(), deadlineMs);
      await Promise.race([new Promise<void>((resolve) => (idle = resolve)), new Promise<void>((resolve) => (cutShort = resolve)), closed]);
      clearTimeout(timer);
    }
    for (const id of [...handlers.keys()]) fail(frameError(ErrorCode.CANCEL, 'agent shutting down', id));
    close(CloseCode.NORMAL, 'agent shutting down');
    return closed;
  }

  return {
    closed,
    shutdown(deadlineMs) {
      // A second call (a second Ctrl-C) can only shorten the deadline.
      if (draining) setTimeout(() => cutShort?.(), deadlineMs);
      else draining = drain(deadlineMs);
      return draining;
    },
    close,
    active: () => handlers.size,
  };
}
