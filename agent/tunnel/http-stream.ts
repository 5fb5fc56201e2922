/**
 * One proxied HTTP request (docs/tunnel-protocol.md §7): the cloud's OPEN becomes a request to the local service,
 * whose body streams from the cloud's DATA frames (credit goes back only once a chunk was written to the local
 * socket), and whose response streams back as RESPONSE, DATA and END. A RESET from the cloud aborts the local request;
 * a local failure resets the stream: UPSTREAM_UNREACHABLE before the response head, INTERNAL after it.
 */
import { request as httpRequest, type Agent as HttpAgent, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ErrorCode, type RequestHead, type StreamFrame } from '../../lib/tunnel/index.ts';
import { pumpBody, type BodyPump } from './body-pump.ts';
import { localRequestOptions, responseHeaderPairs, type ForwardTarget } from './forward.ts';
import { logPath, type StreamHandler, type StreamLink, type StreamOutcome } from './link.ts';

/** What an HTTP stream needs besides its link: where to forward, and the keep-alive agent for local connections. */
export interface HttpStreamOptions {
  readonly target: ForwardTarget;
  readonly agent: HttpAgent;
}

/** Starts the local request for an OPEN and returns the handler of the stream's later frames. */
export function startHttpStream(link: StreamLink, head: RequestHead, opts: HttpStreamOptions): StreamHandler {
  const id = link.stream.id;
  const started = performance.now();
  let status = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  let requestEnded = false;
  let responseEnded = false;
  let done = false;
  let res: IncomingMessage | undefined;
  let pump: BodyPump | undefined;

  const finish = (outcome: StreamOutcome, resetCode?: number) => {
    if (done) return;
    done = true;
    link.finished({
      streamId: id, method: head.method, path: logPath(head.path), status, bytesIn, bytesOut,
      durationMs: Math.round(performance.now() - started), outcome, websocket: false,
      ...(resetCode === undefined ? {} : { resetCode }),
    });
  };
  const abortLocal = () => {
    pump?.stop();
    res?.destroy();
    req.destroy();
  };
  // A local failure: tell the cloud, drop the local side.
  const reset = (code: number, reason: string, outcome: StreamOutcome) => {
    if (done) return;
    abortLocal();
    link.send({ type: 'reset', streamId: id, code, reason });
    finish(outcome, code);
  };
  const maybeDone = () => {
    if (requestEnded && responseEnded) finish('ok');
  };

  const send = opts.target.protocol === 'https:' ? httpsRequest : httpRequest;
  const req: ClientRequest = send(localRequestOptions(opts.target, head, opts.agent));
  req.on('error', (err: NodeJS.ErrnoException) => {
    if (done) return;
    // Before the head the cloud answers 502 "could not reach its local service"; after it, the body is cut short.
    if (!res) return reset(ErrorCode.UPSTREAM_UNREACHABLE, `local service: ${err.code ?? err.message}`, 'unreachable');
    if (!responseEnded) return reset(ErrorCode.INTERNAL, `local service: ${err.code ?? err.message}`, 'failed');
    // The response is complete and the local service hung up on the rest of the request body: stop the upload.
    reset(ErrorCode.CANCEL, 'the local service closed the request', 'ok');
  });
  req.on('response', (response: IncomingMessage) => {
    if (done) return void response.destroy();
    res = response;
    status = response.statusCode ?? 502;
    const sent = link.send({ type: 'response', streamId: id, head: { status, headers: responseHeaderPairs(response.rawHeaders) } });
    if (!sent) return reset(ErrorCode.INTERNAL, 'the local response head cannot cross the tunnel', 'failed');
    pump = pumpBody(link, response, {
      sent: (n) => (bytesOut += n),
      done: () => {
        responseEnded = true;
        maybeDone();
      },
      failed: (reason) => reset(ErrorCode.INTERNAL, reason, 'failed'),
    });
  });

  // A request announced without a body goes out now; the END that follows OPEN then changes nothing (§7).
  if (head.noBody) {
    requestEnded = true;
    req.end();
  }

  return {
    frame(frame: StreamFrame) {
      if (done) return;
      switch (frame.type) {
        case 'data': {
          if (requestEnded) return reset(ErrorCode.PROTOCOL_ERROR, 'DATA on a request without a body', 'failed');
          const n = frame.data.byteLength;
          bytesIn += n;
          // Credit returns once the chunk has left for the local socket: that is the backpressure on the cloud.
          req.write(frame.data, (err) => {
            if (!err) link.release(n);
          });
          return;
        }
        case 'end':
          if (requestEnded) return;
          requestEnded = true;
          req.end();
          return maybeDone();
        case 'window_update':
          return pump?.flush();
        case 'reset':
          abortLocal();
          return finish(frame.code === ErrorCode.CANCEL ? 'cancelled' : 'failed', frame.code);
        default:
          return;
      }
    },
    lost(code) {
      abortLocal();
      finish('lost', code);
    },
  };
}
