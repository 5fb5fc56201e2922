/**
 * A faithful stand-in for the cloud half of the tunnel, for agent tests: a WebSocket server on 127.0.0.1 that checks
 * the handshake (subprotocol, bearer credential), sends `config` first, answers the text heartbeat like the Durable
 * Object's auto-response, and speaks the cloud side of lib/tunnel (odd stream ids, flow control, RESET on errors).
 * Everything it receives goes through `decodeFrame` and the stream table, so an agent that breaks the protocol shows
 * up in `errors`.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import {
  ErrorCode, HEARTBEAT_PING, HEARTBEAT_PONG, MAX_BATCH_BYTES, TUNNEL_SUBPROTOCOL, createStreamTable, decodeFrame, encodeControl, splitMessage, encodeFrame,
  type CloudControlMessage, type FrameError, type GoawayFrame, type RequestHead, type Settings, type StreamFrame,
} from '../../lib/tunnel/index.ts';
import { createPeerStream, deferred, type PeerStream } from './agent-tunnel-peer-stream.test-fixture.ts';

/** What the peer does at the handshake: undefined accepts, a status refuses with a problem body. */
export type Refusal = { status: number; detail: string } | undefined;
export type Gate = (req: IncomingMessage) => Refusal | Promise<Refusal>;

/** Options of `startCloudPeer`. */
export interface PeerOptions {
  /** The `config` sent first (default: 15 s / 10 s); null sends none. */
  readonly config?: Omit<Extract<CloudControlMessage, { type: 'config' }>, 'type'> | null;
  /** Answer the text heartbeat (default true). */
  readonly pong?: boolean;
  readonly gate?: Gate;
  readonly settings?: Settings;
}

/** One agent connection as the peer sees it. */
export type PeerConnection = ReturnType<typeof createPeerConnection>;

function createPeerConnection(ws: WebSocket, req: IncomingMessage, opts: PeerOptions) {
  const table = createStreamTable({ side: 'cloud', settings: opts.settings });
  const streams = new Map<number, PeerStream>();
  const hello = deferred<{ agentVersion: string; settings?: Settings }>();
  const closed = deferred<{ code: number; reason: string }>();
  const goaway = deferred<GoawayFrame>();
  const errors: FrameError[] = [];
  const texts: string[] = [];
  /** How many frames each binary message from the agent held, in order. */
  const messageSizes: number[] = [];
  let pong = opts.pong ?? true;

  const write = (bytes: Uint8Array | string) => ws.readyState === ws.OPEN && (ws.send(bytes), true);
  const send = (frame: StreamFrame): boolean => {
    // Credit for a stream that has just closed is moot, as in the Durable Object.
    if (frame.type === 'window_update' && !table.get(frame.streamId)) return false;
    const checked = table.send(frame);
    if (!checked.ok) {
      errors.push(checked.error);
      return false;
    }
    return checked.ignore ? false : write(encodeFrame(frame));
  };
  const fail = (error: FrameError) => {
    errors.push(error);
    const reset = table.fail(error);
    if (reset) {
      write(encodeFrame(reset));
      streams.get(reset.streamId)?.receive(reset);
    } else ws.close(1002, 'protocol error');
  };

  ws.on('message', (data: RawData, isBinary: boolean) => {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (!isBinary) {
      texts.push(bytes.toString());
      if (bytes.toString() === HEARTBEAT_PING && pong) write(HEARTBEAT_PONG);
      return;
    }
    const parts = splitMessage(bytes);
    messageSizes.push(parts.length);
    if (parts.length > 1 && !table.settings.batchFrames) return fail({ code: 1, message: 'the agent batched frames the peer did not accept' });
    for (const part of parts) if (ws.readyState === ws.OPEN) receiveFrame(part);
  });

  function receiveFrame(bytes: Uint8Array): void {
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) return fail(decoded.error);
    const frame = decoded.frame;
    if (frame.type === 'control') {
      if (frame.message.type !== 'hello') return fail({ code: 1, message: `agent sent ${frame.message.type}` });
      table.setPeerSettings(frame.message.settings ?? {});
      return hello.resolve(frame.message);
    }
    if (frame.type === 'goaway') {
      // Streams above the agent's last processed id were not processed: the cloud answers them 503 (retry).
      for (const dropped of table.receiveGoaway(frame.lastStreamId)) {
        streams.get(dropped.id)?.receive({ type: 'reset', streamId: dropped.id, code: ErrorCode.REFUSED_STREAM, reason: 'not processed (GOAWAY)' });
      }
      return goaway.resolve(frame);
    }
    if (frame.type === 'skip' || frame.type === 'ping' || frame.type === 'pong') return;
    const routed = table.receive(frame);
    if (!routed.ok) return fail(routed.error);
    if (routed.ignore || !routed.stream) return;
    streams.get(frame.streamId)?.receive(frame);
  }
  ws.on('close', (code: number, reason: Buffer) => {
    for (const s of streams.values()) s.lost();
    closed.resolve({ code, reason: reason.toString() });
  });
  if (opts.config !== null) write(encodeControl({ type: 'config', ...(opts.config ?? {}) }));

  return {
    ws,
    req,
    table,
    errors,
    texts,
    messageSizes,
    hello: hello.promise,
    closed: closed.promise,
    goaway: goaway.promise,
    /** Stops (or resumes) answering the heartbeat, like a link that went dead. */
    setPong: (on: boolean) => void (pong = on),
    control: (message: CloudControlMessage) => write(encodeControl(message)),
    raw: write,
    /** Opens a stream (after `hello`, as the protocol requires); throws when the table refuses. */
    open(head: RequestHead, streamOpts: { autoRead?: boolean } = {}): PeerStream {
      const opened = table.open(head);
      if (!opened.ok) throw new Error(`peer cannot open a stream: ${opened.refused}`);
      const stream = createPeerStream(opened.stream, { send }, { autoRead: streamOpts.autoRead ?? true });
      streams.set(stream.id, stream);
      write(encodeFrame(opened.frame));
      return stream;
    },
    /** A GET (or any bodiless request) with END right after OPEN. */
    get(path: string, headers: [string, string][] = [], method = 'GET'): PeerStream {
      const stream = this.open({ method, path, headers });
      stream.end();
      return stream;
    },
  };
}

/** A running peer. */
export type CloudPeer = Awaited<ReturnType<typeof startCloudPeer>>;

/** Starts the peer on a free port of 127.0.0.1. */
export async function startCloudPeer(opts: PeerOptions = {}) {
  const connections: PeerConnection[] = [];
  const attempts: { at: number; authorization: string | undefined; protocol: string | undefined; status: number }[] = [];
  let waiters: ((c: PeerConnection) => void)[] = [];
  let gate = opts.gate;
  const refusedSockets = new Set<Duplex>();
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BATCH_BYTES, handleProtocols: (offered) => (offered.has(TUNNEL_SUBPROTOCOL) ? TUNNEL_SUBPROTOCOL : false) });
  server.on('upgrade', async (req, socket, head) => {
    // An upgrading socket has no listener of the HTTP server's any more: a client that hangs up on a refusal must not crash the test.
    socket.on('error', () => undefined);
    const refusal = req.url === '/devices/connect' ? await gate?.(req) : { status: 404, detail: 'not found' };
    const status = refusal?.status ?? 101;
    attempts.push({ at: performance.now(), authorization: req.headers.authorization, protocol: req.headers['sec-websocket-protocol'], status });
    if (refusal) {
      const body = JSON.stringify({ type: 'about:blank', title: 'Refused', status, detail: refusal.detail });
      // Like the Worker, the refusal keeps the connection open: the agent must hang up itself.
      socket.write(`HTTP/1.1 ${status} Refused\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      refusedSockets.add(socket);
      socket.on('close', () => refusedSockets.delete(socket));
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = createPeerConnection(ws, req, opts);
      connections.push(conn);
      const ready = waiters;
      waiters = [];
      for (const w of ready) w(conn);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    attempts,
    setGate: (next: Gate | undefined) => void (gate = next),
    /** The next connection (one that has not happened yet), within `timeoutMs`. */
    nextConnection(timeoutMs = 10_000): Promise<PeerConnection> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no agent connection in time')), timeoutMs);
        waiters.push((c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
    },
    async close(): Promise<void> {
      for (const c of wss.clients) c.terminate();
      for (const s of refusedSockets) s.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
