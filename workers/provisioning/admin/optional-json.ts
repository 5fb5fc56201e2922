import type { MiddlewareHandler } from 'hono';
import { Problem } from '../../../lib/errors.ts';
import type { AppEnv } from '../../app-env.ts';

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\b/i;

// Whitespace-only bodies count as none (some clients send a newline).
const hasContent = (body: Uint8Array) => body.some((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);

/**
 * For endpoints whose JSON body is optional: no body is fine (the validator then sees `{}`), but a body that is not
 * declared as JSON gets 415 instead of being silently ignored (as `curl -d '{…}'`, which says form-urlencoded, would be).
 */
export const optionalJsonBody = (): MiddlewareHandler<AppEnv> =>
  async function optionalJsonBody(c, next) {
    if (!JSON_TYPE.test(c.req.header('Content-Type') ?? '') && hasContent(new Uint8Array(await c.req.arrayBuffer()))) {
      throw new Problem(415, 'Unsupported Media Type', { detail: 'Send the body as application/json, or no body.' });
    }
    await next();
  };
