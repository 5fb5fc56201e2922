import { Hono } from 'hono';
import pkg from '../package.json' with { type: 'json' };
import type { AppEnv } from './app-env.ts';

/** `GET /health`: liveness plus D1 reachability, for load balancers and the e2e harness. 503 when D1 does not answer. */
export const health = new Hono<AppEnv>().get('/health', async (c) => {
  let d1: 'ok' | 'error' = 'ok';
  try {
    const row = await c.env.DB.prepare('SELECT 1 AS one').first<{ one: number }>();
    if (row?.one !== 1) d1 = 'error';
  } catch (err) {
    d1 = 'error';
    c.get('log').error('health: D1 unreachable', { error: err instanceof Error ? err.message : String(err) });
  }
  const ok = d1 === 'ok';
  c.header('Cache-Control', 'no-store');
  return c.json({ status: ok ? 'ok' : 'degraded', version: pkg.version, checks: { d1 } }, ok ? 200 : 503);
});
