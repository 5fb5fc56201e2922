/**
 * The tunnel keepalive (docs/tunnel-protocol.md §10): the agent sends the text "ping" every interval and the Durable
 * Object's auto-response answers "pong" without waking up. No answer within the timeout means the link is dead, which
 * then shows in interval + timeout seconds (25 s by default) instead of the minutes TCP would take.
 */

/** Options of `createHeartbeat`. */
export interface HeartbeatOptions {
  /** How often to send the heartbeat, in ms. */
  readonly intervalMs: number;
  /** How long to wait for a sign of life after a heartbeat, in ms. */
  readonly timeoutMs: number;
  /** Sends the text heartbeat. */
  readonly ping: () => void;
  /** Called once when a heartbeat went unanswered. */
  readonly dead: () => void;
}

/** A running heartbeat. */
export interface Heartbeat {
  /** Records a sign of life: the "pong", or any other message, which proves the link carries traffic both ways. */
  alive(): void;
  /** Applies new timings (from the cloud's `config`), restarting the cycle. */
  configure(intervalMs: number, timeoutMs: number): void;
  /** Stops all timers. */
  stop(): void;
}

/** Starts the heartbeat cycle; the first ping goes out one interval from now. */
export function createHeartbeat(opts: HeartbeatOptions): Heartbeat {
  let { intervalMs, timeoutMs } = opts;
  let tick: ReturnType<typeof setTimeout> | undefined;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const clear = () => {
    if (tick) clearTimeout(tick);
    if (deadline) clearTimeout(deadline);
    tick = deadline = undefined;
  };

  function schedule(): void {
    if (stopped) return;
    tick = setTimeout(() => {
      tick = undefined;
      // An unanswered ping keeps its deadline: a later ping does not push it back.
      if (!deadline) {
        const armed: ReturnType<typeof setTimeout> = setTimeout(() => {
          // Timers run before I/O in each turn of the event loop: after a stall (a long GC pause, a busy process) the
          // answer may be waiting, unread, in the socket. Judge only once this turn's I/O has been read: an answer
          // read meanwhile has called alive(), which cleared the deadline.
          setImmediate(() => {
            if (stopped || deadline !== armed) return;
            stopped = true;
            clear();
            opts.dead();
          });
        }, timeoutMs);
        deadline = armed;
      }
      opts.ping();
      schedule();
    }, intervalMs);
  }

  schedule();
  return {
    alive() {
      if (deadline) clearTimeout(deadline);
      deadline = undefined;
    },
    configure(nextInterval, nextTimeout) {
      if (stopped) return;
      intervalMs = nextInterval;
      timeoutMs = nextTimeout;
      clear();
      schedule();
    },
    stop() {
      stopped = true;
      clear();
    },
  };
}
