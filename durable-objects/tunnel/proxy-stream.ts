import { concatBytes } from '../../lib/encoding.ts';
import { Problem } from '../../lib/errors.ts';
import { ErrorCode, type RequestHead, type ResponseHead, type StreamFrame, type TunnelStream } from '../../lib/tunnel/index.ts';
import { problemResponse } from '../../workers/errors.ts';
import { createBodySink, createWakeup, pumpBody } from './body.ts';
import type { Connection, StreamEvents } from './connection.ts';
import { bridgeWebSocket } from './websocket-bridge.ts';

/**
 * One proxied request through the tunnel (docs/tunnel-protocol.md §7): OPEN, the request body under flow control,
 * then the response head (or a 502/503/504), then the response body streamed to the client as the agent sends it.
 * A 101 answer to a WebSocket upgrade hands the stream to the WebSocket bridge.
 */

/** Answers for requests the device did not answer itself. */
export const proxyFailure = (status: 502 | 503 | 504, detail: string, headers: Record<string, string> = {}) =>
  problemResponse(new Problem(status, status === 502 ? 'Bad Gateway' : status === 503 ? 'Service Unavailable' : 'Gateway Timeout', { detail, type: 'urn:gatehouse:problem:device-proxy', headers }));

// docs/tunnel-protocol.md §9: the HTTP status a RESET before the head becomes.
function resetFailure(code: number): Response {
  if (code === ErrorCode.REFUSED_STREAM) return proxyFailure(503, 'The device refused the request; retry later.', { 'Retry-After': '1' });
  if (code === ErrorCode.TIMEOUT) return proxyFailure(504, 'The device timed out.');
  if (code === ErrorCode.UPSTREAM_UNREACHABLE) return proxyFailure(502, 'The device could not reach its local service.');
  return proxyFailure(502, 'The device abandoned the request.');
}

// Fields the agent must not have sent (each hop frames its own message) and that would break the client's framing.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** The client's headers of a response head; Content-Length only where the body cannot disagree with it. */
export function responseHeaders(head: ResponseHead, opts: { keepLength: boolean }): Headers {
  const headers = new Headers();
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || (lower === 'content-length' && !opts.keepLength)) continue;
    headers.append(name, value);
  }
  return headers;
}

const NULL_BODY = new Set([204, 205, 304]);

type Outcome = { head: ResponseHead } | { failure: Response };

/** Proxies one request over `conn`; resolves with the client's response once the device's head (or a failure) is known. */
export async function proxyThroughTunnel(conn: Connection, head: RequestHead, body: ReadableStream<Uint8Array> | null, opts: { headTimeoutMs: number }): Promise<Response> {
  let settled = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let resolveOutcome!: (outcome: Outcome) => void;
  const outcome = new Promise<Outcome>((resolve) => (resolveOutcome = resolve));
  const settle = (o: Outcome) => {
    settled = true;
    if (timer !== null) clearTimeout(timer);
    resolveOutcome(o);
  };
  const credit = createWakeup();
  let gone = false;
  // After the head, frames go to whoever carries the body: the response sink or the WebSocket bridge. Frames that
  // arrive between the head and that hand-over (a batched message carries RESPONSE, DATA and END together, §1.1)
  // wait in `early` and are replayed in order.
  let after: StreamEvents | undefined;
  let headSeen = false;
  let early: StreamFrame[] = [];
  let earlyLoss: 'disconnected' | 'refused' | undefined;
  const attach = (events: StreamEvents) => {
    after = events;
    const waiting = early;
    early = [];
    for (const frame of waiting) events.frame(frame);
    if (earlyLoss) events.lost(earlyLoss);
  };
  const finish = (failure: Response) => {
    gone = true;
    credit.fire();
    settle({ failure });
  };

  // The head timeout measures the agent's silence: credit it grants for the request body (it is draining the upload
  // into the local service) restarts the clock, so a large upload is not cut off while it still flows.
  const armTimeout = () => {
    if (timer !== null) clearTimeout(timer);
    if (settled) return;
    timer = setTimeout(() => {
      reset(ErrorCode.TIMEOUT, 'no response in time');
      settle({ failure: proxyFailure(504, `The device did not answer within ${Math.round(opts.headTimeoutMs / 1000)} s.`) });
    }, opts.headTimeoutMs);
  };

  const events: StreamEvents = {
    frame(frame: StreamFrame) {
      if (frame.type === 'reset') gone = true;
      if (frame.type === 'window_update') armTimeout();
      if (frame.type === 'window_update' || frame.type === 'reset') credit.fire();
      if (after) return after.frame(frame);
      if (headSeen) return void early.push(frame);
      if (frame.type === 'response') {
        headSeen = true;
        return settle({ head: frame.head });
      }
      if (frame.type === 'reset') finish(resetFailure(frame.code));
    },
    lost(reason) {
      gone = true;
      credit.fire();
      if (after) return after.lost(reason);
      if (headSeen) return void (earlyLoss = reason);
      finish(reason === 'refused' ? proxyFailure(503, 'The device is shutting down; retry.', { 'Retry-After': '1' }) : proxyFailure(502, 'The device disconnected.'));
    },
  };

  // A bodiless request says so in its OPEN, so the agent need not wait for the END that follows it (§7).
  const opened = conn.open(body || head.websocket ? head : { ...head, noBody: true }, events);
  if (!opened.ok) {
    if (opened.refused === 'limit') return proxyFailure(503, 'The device is busy (too many concurrent requests); retry.', { 'Retry-After': '1' });
    // The agent sent GOAWAY (it is draining before a restart): a new connection is moments away.
    if (opened.refused === 'going_away') return proxyFailure(503, 'The device is shutting down; retry.', { 'Retry-After': '1' });
    return proxyFailure(503, 'The device is offline.', { 'Retry-After': '5' });
  }
  const stream = opened.stream;
  const id = stream.id;
  const reset = (code: number, reason: string) => {
    gone = true;
    credit.fire();
    conn.send({ type: 'reset', streamId: id, code, reason });
  };

  if (body) {
    void pumpBody(body, stream, {
      send: (data) => conn.send({ type: 'data', streamId: id, data }),
      end: () => conn.send({ type: 'end', streamId: id }),
      gone: () => gone,
      credit: () => credit.wait(),
    }).catch(() => {
      // The client's upload broke (it went away): the agent aborts its local request.
      if (gone) return;
      reset(ErrorCode.CANCEL, 'client went away');
      settle({ failure: proxyFailure(502, 'The request body could not be read.') });
    });
  } else if (!head.websocket) conn.send({ type: 'end', streamId: id });

  armTimeout();
  const result = await outcome;
  if ('failure' in result) return result.failure;

  if (result.head.status === 101) {
    const bridge = bridgeWebSocket(conn, stream, result.head);
    attach(bridge.events);
    return bridge.response;
  }
  // An upgrade the local service declined: this side has nothing more to send.
  if (head.websocket) conn.send({ type: 'end', streamId: id });
  // A small answer often arrives whole, its RESPONSE, DATA and END in one batched message (§1.1): it is answered
  // from memory, which spares the runtime a stream between the object and the Worker.
  const whole = wholeBody(early);
  if (whole) {
    attach({ frame: () => undefined, lost: () => undefined });
    const bodiless = NULL_BODY.has(result.head.status) || head.method === 'HEAD';
    return new Response(bodiless ? null : whole, { status: result.head.status, headers: responseHeaders(result.head, { keepLength: bodiless }) });
  }
  return respond(conn, stream, head, result.head, attach, () => reset(ErrorCode.CANCEL, 'client went away'));
}

/** The body, when the frames after the head are DATA ending in END (the stream is over), else undefined. */
export function wholeBody(frames: readonly StreamFrame[]): Uint8Array<ArrayBuffer> | undefined {
  if (frames.at(-1)?.type !== 'end') return undefined;
  const parts: Uint8Array[] = [];
  for (const frame of frames.slice(0, -1)) {
    if (frame.type !== 'data') return undefined;
    parts.push(frame.data);
  }
  // A lone DATA is a view into the received message's ArrayBuffer, which nothing else holds.
  return parts.length === 1 ? (parts[0] as Uint8Array<ArrayBuffer>) : concatBytes(...parts);
}

/** Builds the client's response for a non-101 head and routes the rest of the stream's frames into its body. */
function respond(conn: Connection, stream: TunnelStream, request: RequestHead, head: ResponseHead, route: (events: StreamEvents) => void, cancel: () => void): Response {
  const id = stream.id;
  const release = (bytes: number) => {
    const increment = stream.flow.release(bytes);
    if (increment > 0) conn.send({ type: 'window_update', streamId: id, increment });
  };
  const bodiless = NULL_BODY.has(head.status) || request.method === 'HEAD';
  if (bodiless) {
    // Nothing reaches the client, but credit still flows so a misbehaving agent cannot wedge the stream.
    route({ frame: (f) => void (f.type === 'data' && release(f.data.byteLength)), lost: () => undefined });
    return new Response(null, { status: head.status, headers: responseHeaders(head, { keepLength: true }) });
  }
  const sink = createBodySink({ drained: release, cancelled: cancel });
  route({
    frame(frame) {
      if (frame.type === 'data') sink.push(frame.data);
      else if (frame.type === 'end') sink.end();
      else if (frame.type === 'reset') sink.fail(`the device reset the stream (code ${frame.code})`);
    },
    lost: () => sink.fail('the device disconnected'),
  });
  return new Response(sink.readable, { status: head.status, headers: responseHeaders(head, { keepLength: false }) });
}
