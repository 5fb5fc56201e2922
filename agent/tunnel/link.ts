/**
 * The contract between a tunnel connection (session.ts) and the handler of one stream (http-stream.ts, ws-stream.ts):
 * the session routes the cloud's frames to the handler, and the handler sends its frames through the link, which runs
 * them through the stream table before they reach the socket.
 */
import type { StreamFrame, TunnelStream } from '../../lib/tunnel/index.ts';

/** How a proxied stream ended, for the per-request log line. */
export type StreamOutcome = 'ok' | 'cancelled' | 'unreachable' | 'failed' | 'refused' | 'lost';

/** One proxied request, as logged when its stream is done. */
export interface RequestRecord {
  readonly streamId: number;
  readonly method: string;
  /** The path without its query, which may carry secrets. */
  readonly path: string;
  /** The status of the response head sent to the cloud; 0 when none was sent. */
  readonly status: number;
  /** Body bytes received from the cloud and passed to the local service. */
  readonly bytesIn: number;
  /** Body bytes read from the local service and sent to the cloud. */
  readonly bytesOut: number;
  readonly durationMs: number;
  readonly outcome: StreamOutcome;
  /** The RESET code sent or received, when the stream was reset. */
  readonly resetCode?: number;
  readonly websocket: boolean;
}

/** What a stream handler may do on its connection. */
export interface StreamLink {
  /** The stream's state machine and flow-control windows. */
  readonly stream: TunnelStream;
  /** Checks a frame with the stream table and writes it; false when it was not sent (stream closed, socket gone). */
  send(frame: StreamFrame): boolean;
  /** True while the socket has more queued than its high-water mark: stop producing DATA until `whenWritable`. */
  congested(): boolean;
  /** Calls `wake` once the socket's queue has drained below the low-water mark (at once if not congested); asking again while it waits adds nothing. */
  whenWritable(wake: () => void): void;
  /** Records that `bytes` received DATA bytes were drained, sending a WINDOW_UPDATE when half the window is due. */
  release(bytes: number): void;
  /** The handler is done (both directions finished, or reset): the session forgets it and logs the record. */
  finished(record: RequestRecord): void;
}

/** The session's side of a stream handler. */
export interface StreamHandler {
  /** A frame from the cloud on this stream, already accepted by the state machine (DATA, END, RESET, WINDOW_UPDATE). */
  frame(frame: StreamFrame): void;
  /** The stream is gone without a frame (socket closed, or a protocol error reset it): abort local work now. */
  lost(code: number): void;
}

/** A path for logs: without the query string. */
export const logPath = (path: string): string => path.split('?', 1)[0] ?? path;
