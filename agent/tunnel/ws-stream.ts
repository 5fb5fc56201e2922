/**
 * A WebSocket upgrade through the tunnel (docs/tunnel-protocol.md §5.3): the agent opens a WebSocket to the local
 * service, answers 101 once it is open (or relays the service's ordinary answer when it declines), and then carries
 * each message as DATA fragments under flow control. A close crosses as END with its code; a broken side as RESET.
 */
import { WebSocket, type RawData } from 'ws';
import type { IncomingMessage } from 'node:http';
import {
  ErrorCode, MAX_MESSAGE_BYTES, createMessageAssembler, messageFrames, type DataFrame, type RequestHead, type StreamFrame,
} from '../../lib/tunnel/index.ts';
import { pumpBody, type BodyPump } from './body-pump.ts';
import { endToEnd, localWebSocketUrl, responseHeaderPairs, type ForwardTarget } from './forward.ts';
import { logPath, type StreamHandler, type StreamLink, type StreamOutcome } from './link.ts';

/** Local messages held while the cloud grants no credit before the local socket is paused. */
const OUTBOX_HIGH_WATER = MAX_MESSAGE_BYTES;

// RFC 6455 §7.4: codes an endpoint may put in a Close frame (1005, 1006 and 1015 are only ever reported).
const sendable = (code: number | undefined): code is number =>
  code !== undefined && ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999));

/** Opens the local WebSocket for an upgrade OPEN and returns the handler of the stream's later frames. */
export function startWebSocketStream(link: StreamLink, head: RequestHead, target: ForwardTarget): StreamHandler {
  const id = link.stream.id;
  const started = performance.now();
  const assembler = createMessageAssembler();
  const outbox: DataFrame[] = [];
  let backlog = 0;
  let status = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  let done = false;
  let pump: BodyPump | undefined;
  let upgradeHeaders: [string, string][] = [];
  let endAfterFlush: { code: number; reason: string } | null | undefined;

  const finish = (outcome: StreamOutcome, resetCode?: number) => {
    if (done) return;
    done = true;
    link.finished({
      streamId: id, method: head.method, path: logPath(head.path), status, bytesIn, bytesOut,
      durationMs: Math.round(performance.now() - started), outcome, websocket: true,
      ...(resetCode === undefined ? {} : { resetCode }),
    });
  };
  const reset = (code: number, reason: string, outcome: StreamOutcome) => {
    if (done) return;
    pump?.stop();
    local.terminate();
    link.send({ type: 'reset', streamId: id, code, reason });
    finish(outcome, code);
  };

  const protocols = (head.headers.find(([n]) => n.toLowerCase() === 'sec-websocket-protocol')?.[1] ?? '')
    .split(',').map((p) => p.trim()).filter(Boolean);
  let local: WebSocket;
  try {
    local = new WebSocket(localWebSocketUrl(target, head), protocols, {
      headers: Object.fromEntries(endToEnd(head.headers, new Set(['sec-websocket-protocol', 'content-length']))),
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      followRedirects: false,
      handshakeTimeout: 10_000,
    });
  } catch (err) {
    // A subprotocol list or URL the ws client refuses: nothing was opened.
    link.send({ type: 'reset', streamId: id, code: ErrorCode.PROTOCOL_ERROR, reason: `upgrade refused: ${err instanceof Error ? err.message : 'invalid'}` });
    finish('failed', ErrorCode.PROTOCOL_ERROR);
    return { frame: () => undefined, lost: () => undefined };
  }

  // Sends what the credit allows; a fragment larger than the credit is cut, the first part flagged MORE.
  function flush(): void {
    while (!done && outbox.length > 0) {
      if (link.congested()) return link.whenWritable(flush);
      const frame = outbox[0] as DataFrame;
      const credit = link.stream.flow.sendCredit();
      if (credit === 0 && frame.data.byteLength > 0) return;
      const n = Math.min(credit, frame.data.byteLength);
      const part: DataFrame = n < frame.data.byteLength ? { ...frame, data: frame.data.subarray(0, n), more: true } : frame;
      if (!link.send(part)) return reset(ErrorCode.INTERNAL, 'the tunnel refused a DATA frame', 'failed');
      bytesOut += n;
      backlog -= n;
      if (part === frame) outbox.shift();
      else outbox[0] = { ...frame, data: frame.data.subarray(n) };
    }
    if (done) return;
    if (backlog < OUTBOX_HIGH_WATER / 2 && local.isPaused) local.resume();
    if (outbox.length === 0 && endAfterFlush !== undefined) {
      const close = endAfterFlush;
      endAfterFlush = undefined;
      link.send(close ? { type: 'end', streamId: id, close } : { type: 'end', streamId: id });
      finish('ok');
    }
  }

  local.on('upgrade', (res: IncomingMessage) => {
    upgradeHeaders = responseHeaderPairs(res.rawHeaders);
  });
  local.on('open', () => {
    if (done) return void local.terminate();
    status = 101;
    if (!link.send({ type: 'response', streamId: id, head: { status: 101, headers: upgradeHeaders } })) {
      reset(ErrorCode.INTERNAL, 'the upgrade head cannot cross the tunnel', 'failed');
    }
  });
  // The local service answered the upgrade with an ordinary response: relay it as one.
  local.on('unexpected-response', (req, res: IncomingMessage) => {
    if (done) return void req.destroy();
    status = res.statusCode ?? 502;
    if (!link.send({ type: 'response', streamId: id, head: { status, headers: responseHeaderPairs(res.rawHeaders) } })) {
      return reset(ErrorCode.INTERNAL, 'the local response head cannot cross the tunnel', 'failed');
    }
    pump = pumpBody(link, res, {
      sent: (n) => (bytesOut += n),
      done: () => {
        req.destroy();
        finish('ok');
      },
      failed: (reason) => reset(ErrorCode.INTERNAL, reason, 'failed'),
    });
  });
  local.on('message', (data: RawData, isBinary: boolean) => {
    if (done) return;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    for (const frame of messageFrames(id, bytes)) {
      outbox.push(isBinary ? frame : { ...frame, text: true });
      backlog += frame.data.byteLength;
    }
    if (backlog >= OUTBOX_HIGH_WATER) local.pause();
    flush();
  });
  local.on('close', (code: number, reason: Buffer) => {
    if (done || status !== 101) return;
    // 1006: the local service vanished without a close handshake.
    if (code === 1006) return reset(ErrorCode.CANCEL, 'the local WebSocket broke', 'failed');
    endAfterFlush = sendable(code) ? { code, reason: reason.toString('utf8') } : null;
    flush();
  });
  local.on('error', (err: Error) => {
    if (done) return;
    if (status === 0) return reset(ErrorCode.UPSTREAM_UNREACHABLE, `local service: ${(err as NodeJS.ErrnoException).code ?? err.message}`, 'unreachable');
    // The ws client refuses a local message above 1 MiB, which the Workers side could not deliver either.
    const tooBig = (err as NodeJS.ErrnoException).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
    reset(tooBig ? ErrorCode.FRAME_SIZE : ErrorCode.INTERNAL, `local WebSocket: ${err.message}`, 'failed');
  });

  return {
    frame(frame: StreamFrame) {
      if (done) return;
      switch (frame.type) {
        case 'window_update':
          return status === 101 ? flush() : pump?.flush();
        case 'data': {
          const n = frame.data.byteLength;
          bytesIn += n;
          const assembled = assembler.push(frame);
          if (!assembled.ok) return reset(assembled.error.code, assembled.error.message, 'failed');
          // Fragments are copied into the assembler (bounded at 1 MiB), so their credit goes back at once; a whole
          // message's credit goes back once the local socket has taken it.
          if (assembled.message === undefined) return link.release(n);
          local.send(assembled.message, { binary: typeof assembled.message !== 'string' }, (err) => {
            if (!err) link.release(n);
          });
          return;
        }
        case 'end':
          // The cloud's client closed (or, after a declined upgrade, its request is simply complete).
          if (status !== 101) return;
          if (local.readyState !== WebSocket.OPEN) return;
          if (frame.close && sendable(frame.close.code)) local.close(frame.close.code, frame.close.reason);
          else local.close();
          return;
        case 'reset':
          pump?.stop();
          local.terminate();
          return finish(frame.code === ErrorCode.CANCEL ? 'cancelled' : 'failed', frame.code);
        default:
          return;
      }
    },
    lost(code) {
      pump?.stop();
      local.terminate();
      finish('lost', code);
    },
  };
}
