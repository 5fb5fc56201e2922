import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { Problem } from '../../lib/errors.ts';
import type { AppEnv } from '../app-env.ts';

const DEFAULT_MAX = 1024 * 1024;

/** Refuses request bodies over `MAX_BODY_BYTES` with 413, except on paths that stream (the device proxy). */
export const bodyLimit = (opts: { skip?: (path: string) => boolean } = {}): MiddlewareHandler<AppEnv> =>
  async function bodyLimit(c, next) {
    if (opts.skip?.(c.req.path) || c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const max = Number.parseInt(c.env.MAX_BODY_BYTES ?? '', 10);
    const limit = honoBodyLimit({
      maxSize: Number.isFinite(max) && max > 0 ? max : DEFAULT_MAX,
      onError: () => {
        throw new Problem(413, 'Payload Too Large', { detail: `The request body is larger than ${max} bytes.` });
      },
    });
    return limit(c, next);
  };
