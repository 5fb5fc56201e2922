/**
 * The agent's log: one line per connection change and per proxied request, human-readable by default or JSON lines
 * (`--json`) for a log shipper. Lines carry no timestamp in human mode (journald and container runtimes add one);
 * JSON lines carry `time`. Events hold no secrets, and this module adds none.
 */
import type { EventEmitter } from 'node:events';
import { ErrorCode } from '../../lib/tunnel/index.ts';
import type { TunnelAgentEventName, TunnelAgentEvents } from './events.ts';

/** Options of `createAgentLogger`. */
export interface AgentLoggerOptions {
  readonly json?: boolean;
  /** Where lines go (default: stdout). */
  readonly write?: (line: string) => void;
}

/** Writes log lines. */
export interface AgentLogger {
  /** Logs one line: `text` in human mode, `{time, level, event, ...fields}` in JSON mode. */
  line(event: string, fields: Record<string, unknown>, text: string, level?: 'info' | 'warn'): void;
  /** Logs every event of a running agent. */
  attach(events: EventEmitter<TunnelAgentEvents>): void;
}

const CODE_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));
/** An error code's name for logs (unknown codes print as numbers). */
export const codeName = (code: number): string => CODE_NAMES.get(code) ?? String(code);

const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
const iso = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString();
const bytes = (n: number): string => (n < 1024 ? `${n}B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)}KiB` : `${(n / 1024 / 1024).toFixed(1)}MiB`);
const then = (retryInMs: number | null): string => (retryInMs === null ? 'not retrying' : `retry in ${seconds(retryInMs)}`);

type Formatters = { [K in TunnelAgentEventName]: (e: TunnelAgentEvents[K][0]) => [text: string | null, level?: 'warn'] };

// null: the event goes to JSON logs only.
const FORMAT: Formatters = {
  connecting: (e) => [`connecting to ${e.url} (attempt ${e.attempt})`],
  connected: (e) => [`connected device=${e.deviceId ?? '-'} url=${e.url}`],
  disconnected: (e) => [`disconnected code=${e.code} by=${e.by}${e.reason ? ` reason="${e.reason}"` : ''} after ${seconds(e.upMs)}; ${then(e.retryInMs)}`, e.code === 1000 ? undefined : 'warn'],
  refused: (e) => [
    e.authFailure
      ? `device credential refused (HTTP ${e.status}: ${e.reason}); ${then(e.retryInMs)}`
      : `cannot connect (${e.status === null ? e.reason : `HTTP ${e.status}: ${e.reason}`}); ${then(e.retryInMs)}`,
    'warn',
  ],
  config: () => [null],
  claim_code: (e) => [`Claim code: ${e.code} (expires ${iso(e.expiresAt)})`],
  device_token: (e) => [`device token received (expires ${iso(e.expiresAt)})`],
  claimed: (e) => [`claimed${e.ownerId ? ` owner=${e.ownerId}` : ''}: claim code removed`],
  goaway: (e) => [`the cloud is going away (${codeName(e.code)}${e.reason ? `: ${e.reason}` : ''})`],
  request: (e) => [
    `${e.method} ${e.path} ${e.status || '-'} in=${bytes(e.bytesIn)} out=${bytes(e.bytesOut)} ${e.durationMs}ms` +
      `${e.websocket ? ' websocket' : ''}${e.outcome === 'ok' ? '' : ` ${e.outcome}`}${e.resetCode === undefined ? '' : ` (${codeName(e.resetCode)})`}`,
  ],
  protocol_error: (e) => [`protocol error ${codeName(e.code)}: ${e.message}`, 'warn'],
  warning: (e) => [`warning: ${e.message}`, 'warn'],
  renewed: (e) => [`certificate renewed, valid until ${e.notAfter}`],
  draining: (e) => [`shutting down: waiting for ${e.streams} stream(s), up to ${seconds(e.deadlineMs)}`],
  stopped: (e) => [`stopped (${e.reason})`],
};

/** Creates the logger (human lines on stdout unless told otherwise). */
export function createAgentLogger(opts: AgentLoggerOptions = {}): AgentLogger {
  const write = opts.write ?? ((text: string) => void process.stdout.write(`${text}\n`));
  const logger: AgentLogger = {
    line(event, fields, text, level = 'info') {
      write(opts.json ? JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }) : text);
    },
    attach(events) {
      for (const name of Object.keys(FORMAT) as TunnelAgentEventName[]) {
        events.on(name, (payload: TunnelAgentEvents[typeof name][0]) => {
          const [text, level] = (FORMAT[name] as (e: typeof payload) => [string | null, 'warn'?])(payload);
          if (text === null && !opts.json) return;
          logger.line(name, { ...payload }, text ?? '', level ?? (name === 'request' && payload && 'outcome' in payload && payload.outcome !== 'ok' ? 'warn' : 'info'));
        });
      }
    },
  };
  return logger;
}
