/**
 * A small agent-side tunnel peer for end-to-end tests, built from lib/tunnel and `ws`: it connects to
 * `GET /devices/connect` with a device JWT, says hello, sends the text heartbeat, and forwards every proxied stream to a
 * real local HTTP (or WebSocket) server with node:http, under the protocol's flow control in both directions. It is
 * deliberately minimal (no reconnects, no logs): the tests drive its life, and the real agent lives in agent/tunnel/.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import {
  ErrorCode,
  HEARTBEAT_PING,
  MAX_DATA_PAYLOAD,
  MAX_FRAME_SIZE,
  TUNNEL_SUBPROTOCOL,
  createMessageAssembler,
  createStreamTable,
  decodeFrame,
  encodeControl,
  encodeFrame,
  messageFrames,
  type ControlMessage,
  type DataFrame,
  type RequestHead,
  type StreamFrame,
  type TunnelStream,
} from '../../../lib/tunnel/index.ts';

/** Fields the peer never passes on (RFC 9110 §7.6.1 and each hop's own WebSocket handshake). */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-accept']);

/** A connected peer. */
export type TunnelPeer = Awaited<ReturnType<typeof connectPeer>>;

/** Refused before the upgrade: the HTTP status the Worker answered. */
export class PeerRefused extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`connect refused with HTTP ${status}`);
    this.status = status;
  }
}

type StreamState = { stream: TunnelStream; credit: () => void; abort: () => void; toLocal?: (frame: StreamFrame) => void };

/** Connects as a device with `jwt` and forwards streams to `forward` (an http://127.0.0.1:PORT origin). */
export async function connectPeer(opts: { baseUrl: string; jwt: string; forward: string; agentVersion?: string }) {
  const ws = new WebSocket(`${opts.baseUrl.replace(/^http/, 'ws')}/devices/connect`, TUNNEL_SUBPROTOCOL, { headers: { Authorization: `Bearer ${opts.jwt}` }, maxPayload: MAX_FRAME_SIZE });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (_req, res) => reject(new PeerRefused(res.statusCode ?? 0)));
    ws.once('error', reject);
  });
  const table = createStreamTable({ side: 'agent' });
  const streams = new Map<number, StreamState>();
  const controls: ControlMessage[] = [];
  const resets: { streamId: number; code: number }[] = [];
  let maxConcurrent = 0;
  let heartbeat: NodeJS.Timeout | undefined;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => {
      clearInterval(heartbeat);
      for (const s of streams.values()) s.abort();
      resolve({ code, reason: reason.toString() });
    }),
  );
  const send = (frame: StreamFrame): boolean => {
    const checked = table.send(frame);
    if (!checked.ok || checked.ignore || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(encodeFrame(frame));
    if (!table.get(frame.streamId)) streams.delete(frame.streamId);
    return true;
  };
  const release = (stream: TunnelStream, bytes: number) => {
    const increment = stream.flow.release(bytes);
    if (increment > 0) send({ type: 'window_update', streamId: stream.id, increment });
  };
  // Waits until the stream may send `n` more bytes (or is gone); returns how many it may send now.
  async function creditFor(s: StreamState, n: number): Promise<number> {
    for (;;) {
      if (!table.get(s.stream.id)) return 0;
      const credit = s.stream.flow.sendCredit();
      if (credit > 0) return Math.min(credit, n);
      await new Promise<void>((r) => (s.credit = r));
    }
  }

  function forwardHttp(s: StreamState, head: RequestHead): void {
    const headers: Record<string, string[]> = {};
    for (const [name, value] of head.headers) if (!HOP.has(name.toLowerCase())) (headers[name.toLowerCase()] ??= []).push(value);
    const req = httpRequest(`${opts.forward}${head.path}`, { method: head.method, headers });
    let res: IncomingMessage | undefined;
    s.abort = () => {
      req.destroy();
      res?.destroy();
    };
    s.toLocal = (frame) => {
      if (frame.type === 'data') req.write(frame.data, () => release(s.stream, frame.data.byteLength));
      else if (frame.type === 'end') req.end();
    };
    req.on('error', () => {
      if (table.get(s.stream.id)) send({ type: 'reset', streamId: s.stream.id, code: res ? ErrorCode.INTERNAL : ErrorCode.UPSTREAM_UNREACHABLE });
    });
    req.on('response', async (r) => {
      res = r;
      const pairs: [string, string][] = [];
      for (let i = 0; i + 1 < r.rawHeaders.length; i += 2) {
        const name = (r.rawHeaders[i] ?? '').toLowerCase();
        if (!HOP.has(name)) pairs.push([name, r.rawHeaders[i + 1] ?? '']);
      }
      send({ type: 'response', streamId: s.stream.id, head: { status: r.statusCode ?? 502, headers: pairs } });
      try {
        for await (const chunk of r as AsyncIterable<Buffer>) {
          let offset = 0;
          while (offset < chunk.byteLength) {
            const n = await creditFor(s, Math.min(MAX_DATA_PAYLOAD, chunk.byteLength - offset));
            if (n === 0) return r.destroy();
            send({ type: 'data', streamId: s.stream.id, data: chunk.subarray(offset, offset + n) });
            offset += n;
          }
        }
        send({ type: 'end', streamId: s.stream.id });
      } catch {
        if (table.get(s.stream.id)) send({ type: 'reset', streamId: s.stream.id, code: ErrorCode.INTERNAL });
      }
    });
  }

  function forwardWebSocket(s: StreamState, head: RequestHead): void {
    const protocol = head.headers.find(([n]) => n.toLowerCase() === 'sec-websocket-protocol')?.[1];
    const local = new WebSocket(`${opts.forward.replace(/^http/, 'ws')}${head.path}`, protocol ? protocol.split(',').map((p) => p.trim()) : []);
    const assembler = createMessageAssembler();
    const outbox: DataFrame[] = [];
    let pumping = false;
    const pump = async () => {
      if (pumping) return;
      pumping = true;
      while (outbox.length > 0) {
        const frame = outbox[0] as DataFrame;
        const n = await creditFor(s, frame.data.byteLength);
        if (n === 0 && frame.data.byteLength > 0) break;
        if (n < frame.data.byteLength) {
          send({ ...frame, data: frame.data.subarray(0, n), more: true });
          outbox[0] = { ...frame, data: frame.data.subarray(n) };
        } else {
          send(frame);
          outbox.shift();
        }
      }
      pumping = false;
    };
    s.abort = () => local.terminate();
    s.toLocal = (frame) => {
      if (frame.type === 'data') {
        const assembled = assembler.push(frame as DataFrame);
        release(s.stream, frame.data.byteLength);
        if (assembled.ok && assembled.message !== undefined) local.send(assembled.message);
      } else if (frame.type === 'end') local.close(frame.close?.code ?? 1000, frame.close?.reason);
    };
    local.on('open', () => send({ type: 'response', streamId: s.stream.id, head: { status: 101, headers: local.protocol ? [['sec-websocket-protocol', local.protocol]] : [] } }));
    local.on('message', (data: Buffer, isBinary: boolean) => {
      outbox.push(...messageFrames(s.stream.id, isBinary ? new Uint8Array(data) : data.toString('utf8')));
      void pump();
    });
    local.on('close', (code, reason) => send({ type: 'end', streamId: s.stream.id, close: { code: code === 1005 || code === 1006 ? 1000 : code, reason: reason.toString() } }));
    local.on('unexpected-response', (_req, res) => {
      send({ type: 'response', streamId: s.stream.id, head: { status: res.statusCode ?? 502, headers: [] } });
      send({ type: 'end', streamId: s.stream.id });
    });
    local.on('error', () => table.get(s.stream.id) && send({ type: 'reset', streamId: s.stream.id, code: ErrorCode.UPSTREAM_UNREACHABLE }));
  }

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return;
    const decoded = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (!decoded.ok) return ws.close(1002, 'protocol error');
    const frame = decoded.frame;
    if (frame.type === 'control') {
      controls.push(frame.message);
      if (frame.message.type === 'config') {
        table.setPeerSettings(frame.message.settings ?? {});
        clearInterval(heartbeat);
        heartbeat = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(HEARTBEAT_PING), (frame.message.pingIntervalSeconds ?? 15) * 1000);
      }
      return;
    }
    if (frame.type === 'skip' || frame.type === 'ping' || frame.type === 'pong' || frame.type === 'goaway') return;
    const routed = table.receive(frame);
    if (!routed.ok) {
      const reset = table.fail(routed.error);
      if (reset) ws.send(encodeFrame(reset));
      return;
    }
    if (routed.ignore || !routed.stream) return;
    if (frame.type === 'open') {
      const s: StreamState = { stream: routed.stream, credit: () => undefined, abort: () => undefined };
      streams.set(frame.streamId, s);
      maxConcurrent = Math.max(maxConcurrent, streams.size);
      if (frame.head.websocket) forwardWebSocket(s, frame.head);
      else forwardHttp(s, frame.head);
      return;
    }
    const s = streams.get(frame.streamId);
    if (!s) return;
    if (frame.type === 'window_update') s.credit();
    else if (frame.type === 'reset') {
      resets.push({ streamId: frame.streamId, code: frame.code });
      streams.delete(frame.streamId);
      s.credit();
      s.abort();
    } else s.toLocal?.(frame);
    if (!table.get(frame.streamId)) streams.delete(frame.streamId);
  });
  ws.send(encodeControl({ type: 'hello', agentVersion: opts.agentVersion ?? 'e2e-peer/1' }));

  return {
    ws,
    controls,
    resets,
    closed,
    /** The most streams that were open at once. */
    maxConcurrent: () => maxConcurrent,
    /** Waits for a control message of a type (one already received counts). */
    async control<T extends ControlMessage['type']>(type: T, timeoutMs = 5000): Promise<Extract<ControlMessage, { type: T }>> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = controls.find((m) => m.type === type);
        if (found) return found as Extract<ControlMessage, { type: T }>;
        if (Date.now() > deadline) throw new Error(`no ${type} control message within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    /** Closes the tunnel cleanly. */
    close: (code = 1000) => ws.close(code, 'bye'),
    /** Drops the TCP connection with no close frame, as a killed process or a pulled cable would. */
    kill: () => ws.terminate(),
  };
}
