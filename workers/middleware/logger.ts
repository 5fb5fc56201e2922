import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';

/** Fields of a structured log line. Never put a token, code, OTP, key or password in one. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** A structured JSON logger bound to one request. */
export type Logger = {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
};

/** Makes a logger that writes one JSON object per line with the given base fields. */
export function createLogger(base: LogFields): Logger {
  const write = (level: 'info' | 'warn' | 'error', msg: string, fields?: LogFields) => {
    const line = JSON.stringify({ level, msg, time: new Date().toISOString(), ...base, ...fields });
    if (level === 'error') console.error(line);
    else if (level === 'warn') console.warn(line);
    else console.log(line);
  };
  return {
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
  };
}

/**
 * Logs one line per request: method, path, status and duration. The query string is left out on purpose,
 * because it carries authorization codes, states and tokens.
 */
export const requestLogger = (): MiddlewareHandler<AppEnv> =>
  async function requestLogger(c, next) {
    const started = Date.now();
    const log = createLogger({ requestId: c.get('requestId') });
    c.set('log', log);
    await next();
    log.info('request', { method: c.req.method, path: c.req.path, status: c.res.status, durationMs: Date.now() - started });
  };
