/**
 * Per-stream flow control (credit counted in DATA payload bytes, as in RFC 9113 §5.2). The sender may only send what
 * the receiver has granted; the receiver grants more only as its application drains what it holds. One slow reader
 * therefore stalls only its own stream, and what a side buffers per stream is bounded by its receive window.
 */
import { ErrorCode, type FrameError, MAX_WINDOW, frameError } from './frame.ts';

/** 256 KiB: one bandwidth-delay product at 100 MB/s and ~2.5 ms RTT, while 64 stalled streams still fit in 16 MiB. */
export const DEFAULT_INITIAL_WINDOW = 256 * 1024;

/** Success, or the FLOW_CONTROL/PROTOCOL_ERROR that the caller turns into a RESET of the stream. */
export type FlowResult = { readonly ok: true } | { readonly ok: false; readonly error: FrameError };

/** Options of `createFlowWindow`. */
export interface FlowWindowOptions {
  /** The peer's receive window: how much this side may send before the first WINDOW_UPDATE. */
  readonly sendWindow?: number;
  /** This side's receive window: how much the peer may send before this side grants more. */
  readonly receiveWindow?: number;
  /** Stream the window belongs to, put on errors so they can become a RESET. */
  readonly streamId?: number;
}

/** The flow-control bookkeeping of one stream, both directions. */
export interface FlowWindow {
  /** Bytes of DATA this side may still send. */
  sendCredit(): number;
  /** True when `n` bytes of DATA fit in the send credit. */
  canSend(n: number): boolean;
  /** Spends credit for `n` bytes of DATA about to be sent; FLOW_CONTROL when it does not fit (check `canSend` first). */
  consume(n: number): FlowResult;
  /** Adds a received WINDOW_UPDATE increment; FLOW_CONTROL if the credit would pass 2^31 − 1. */
  grant(increment: number): FlowResult;
  /** Bytes of DATA the peer may still send before this side grants more. */
  receiveWindow(): number;
  /** Bytes received and not yet released by the application. */
  buffered(): number;
  /** Accounts for `n` bytes of DATA received; FLOW_CONTROL when the peer overran the window. */
  receive(n: number): FlowResult;
  /**
   * Records that the application drained `n` received bytes and returns the WINDOW_UPDATE increment to send now:
   * 0 until half the window is waiting, so updates go out in batches rather than one per chunk.
   */
  release(n: number): number;
}

const OK: FlowResult = { ok: true };

function checkWindow(size: number, what: string): number {
  if (!Number.isInteger(size) || size < 0 || size > MAX_WINDOW) throw new RangeError(`${what} must be an integer in 0..${MAX_WINDOW}`);
  return size;
}

/** Creates the flow-control state of one stream from the two initial windows (each defaulting to 256 KiB). */
export function createFlowWindow(opts: FlowWindowOptions = {}): FlowWindow {
  const initialReceive = checkWindow(opts.receiveWindow ?? DEFAULT_INITIAL_WINDOW, 'receive window');
  let credit = checkWindow(opts.sendWindow ?? DEFAULT_INITIAL_WINDOW, 'send window');
  let window = initialReceive;
  let held = 0;
  let unannounced = 0;
  const error = (code: FrameError['code'], message: string): FlowResult => ({ ok: false, error: frameError(code, message, opts.streamId) });
  const isCount = (n: number): boolean => Number.isInteger(n) && n >= 0;

  return {
    sendCredit: () => credit,
    canSend: (n) => isCount(n) && n <= credit,
    consume(n) {
      if (!isCount(n) || n > credit) return error(ErrorCode.FLOW_CONTROL, `sending ${n} bytes exceeds the send credit of ${credit}`);
      credit -= n;
      return OK;
    },
    grant(increment) {
      if (!Number.isInteger(increment) || increment < 1) return error(ErrorCode.PROTOCOL_ERROR, 'window increment must be positive');
      // RFC 9113 §6.9.1: a window above 2^31 − 1 is a flow-control error.
      if (credit + increment > MAX_WINDOW) return error(ErrorCode.FLOW_CONTROL, 'window update overflows 2^31 - 1');
      credit += increment;
      return OK;
    },
    receiveWindow: () => window,
    buffered: () => held,
    receive(n) {
      if (!isCount(n) || n > window) return error(ErrorCode.FLOW_CONTROL, `peer sent ${n} bytes with only ${window} granted`);
      window -= n;
      held += n;
      return OK;
    },
    release(n) {
      // Releasing more than is held would grant credit for bytes never received, so it is clamped.
      const drained = Math.min(isCount(n) ? n : 0, held);
      held -= drained;
      unannounced += drained;
      if (unannounced === 0 || unannounced < initialReceive / 2) return 0;
      const increment = unannounced;
      unannounced = 0;
      window += increment;
      return increment;
    },
  };
}
