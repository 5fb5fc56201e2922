import { ErrorCode, createMessageAssembler, messageFrames, type DataFrame, type ResponseHead, type TunnelStream } from '../../lib/tunnel/index.ts';
import type { Connection, StreamEvents } from './connection.ts';

/**
 * A WebSocket proxied through the tunnel (docs/tunnel-protocol.md §5.3). After the agent's 101 the client gets the
 * other end of a WebSocketPair; each message crosses as DATA fragments under the stream's send credit, a close crosses
 * as END with its code, and a broken side as RESET. While such a socket is open the object stays in memory (it is not a
 * hibernatable socket), which is the price of relaying without a stream table rebuilt on every message.
 */

/** Most bytes of client messages held while the agent grants no credit; beyond it the client is closed with 1013. */
export const MAX_WEBSOCKET_BACKLOG = 16 * 1024 * 1024;

// RFC 6455 §7.4.1: 1005, 1006 and 1015 are reported, never sent.
const sendable = (code: number | undefined) => code !== undefined && code >= 1000 && code <= 4999 && code !== 1005 && code !== 1006 && code !== 1015;

function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    try {
      ws.close(1000, reason);
    } catch {
      /* already closed */
    }
  }
}

/** Accepts the client's side of an upgraded stream; returns the 101 for the client and the stream's frame handler. */
export function bridgeWebSocket(conn: Connection, stream: TunnelStream, head: ResponseHead): { response: Response; events: StreamEvents } {
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  // Binary messages as ArrayBuffer, not the standard's default Blob (which would need an async read per message).
  server.binaryType = 'arraybuffer';
  server.accept();
  const id = stream.id;
  const assembler = createMessageAssembler();
  const outbox: DataFrame[] = [];
  let backlog = 0;
  let endAfterFlush: { code: number; reason: string } | null | undefined;
  let finished = false;

  const abort = (code: number, reason: string, closeCode: number) => {
    if (finished) return;
    finished = true;
    outbox.length = 0;
    conn.send({ type: 'reset', streamId: id, code, reason });
    closeQuietly(server, closeCode, reason);
  };

  // Sends what the credit allows; a fragment larger than the credit is cut (the first part marked MORE).
  function flush(): void {
    while (outbox.length > 0 && !finished) {
      const frame = outbox[0] as DataFrame;
      const credit = stream.flow.sendCredit();
      const size = frame.data.byteLength;
      if (size > credit) {
        if (credit === 0) return;
        if (!conn.send({ ...frame, data: frame.data.subarray(0, credit), more: true })) return abort(ErrorCode.INTERNAL, 'tunnel closed', 1011);
        outbox[0] = { ...frame, data: frame.data.subarray(credit) };
        backlog -= credit;
        continue;
      }
      if (!conn.send(frame)) return abort(ErrorCode.INTERNAL, 'tunnel closed', 1011);
      outbox.shift();
      backlog -= size;
    }
    if (endAfterFlush !== undefined && outbox.length === 0 && !finished) {
      conn.send(endAfterFlush ? { type: 'end', streamId: id, close: endAfterFlush } : { type: 'end', streamId: id });
      endAfterFlush = undefined;
    }
  }

  server.addEventListener('message', (event: MessageEvent) => {
    if (finished) return;
    const data = event.data as unknown;
    const message = typeof data === 'string' ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : undefined;
    if (message === undefined) return;
    for (const frame of messageFrames(id, message)) {
      outbox.push(frame);
      backlog += frame.data.byteLength;
    }
    if (backlog > MAX_WEBSOCKET_BACKLOG) return abort(ErrorCode.CANCEL, 'the device is not keeping up', 1013);
    flush();
  });
  server.addEventListener('close', (event: CloseEvent) => {
    if (finished) return;
    if (event.code === 1006) return abort(ErrorCode.CANCEL, 'client went away', 1011);
    endAfterFlush = sendable(event.code) ? { code: event.code, reason: event.reason } : null;
    flush();
    closeQuietly(server, sendable(event.code) ? event.code : 1000, event.reason);
  });
  server.addEventListener('error', () => abort(ErrorCode.CANCEL, 'client went away', 1011));

  const events: StreamEvents = {
    frame(frame) {
      if (finished) return;
      switch (frame.type) {
        case 'window_update':
          return flush();
        case 'data': {
          const assembled = assembler.push(frame);
          if (!assembled.ok) return abort(assembled.error.code, assembled.error.message, 1009);
          const increment = stream.flow.release(frame.data.byteLength);
          if (increment > 0) conn.send({ type: 'window_update', streamId: id, increment });
          if (assembled.message !== undefined) server.send(assembled.message);
          return;
        }
        case 'end':
          closeQuietly(server, sendable(frame.close?.code) ? (frame.close?.code ?? 1000) : 1000, frame.close?.reason ?? '');
          return;
        case 'reset':
          finished = true;
          return closeQuietly(server, 1011, 'the device reset the connection');
        default:
          return;
      }
    },
    lost() {
      if (finished) return;
      finished = true;
      closeQuietly(server, 1001, 'the device disconnected');
    },
  };
  const headers = new Headers();
  const protocol = head.headers.find(([name]) => name.toLowerCase() === 'sec-websocket-protocol')?.[1];
  if (protocol) headers.set('Sec-WebSocket-Protocol', protocol);
  return { response: new Response(null, { status: 101, webSocket: client, headers }), events };
}
