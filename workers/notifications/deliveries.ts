import { Hono } from 'hono';
import type { ApiEnv } from '../api/current-user.ts';
import { database } from '../db.ts';
import { validate } from '../validate.ts';
import { listDeliveries } from './delivery-store.ts';
import { invalid } from './problems.ts';
import { deliveriesQuery } from './schemas.ts';

/**
 * `GET /api/notifications/deliveries?limit=&after=&subscriptionId=`: the caller's delivery history, newest first, one
 * row per notification per subscription (status, attempts, last error, latency), paged with an opaque cursor.
 */
export const deliveryHistory = new Hono<ApiEnv>().get('/deliveries', validate('query', deliveriesQuery), async (c) => {
  const page = await listDeliveries(database(c.env.DB), c.get('user').id, c.req.valid('query'));
  if (!page) throw invalid([{ path: 'after', message: 'is not a cursor from this API' }], 'The request query is invalid.');
  c.header('Cache-Control', 'no-store');
  return c.json(page);
});
