import { Hono, type MiddlewareHandler } from 'hono';
import { protectApi, type ApiEnv } from '../api/current-user.ts';
import { requireDevice } from '../api/device-store.ts';
import { deviceParams } from '../api/schemas.ts';
import { database } from '../db.ts';
import { makeCursor, readCursor } from '../orgs/log-cursor.ts';
import { pageLog, recordViewOf } from '../orgs/record-store.ts';
import { recordsQuery } from '../orgs/schemas.ts';
import { validate } from '../validate.ts';

/** Runs the Client API's front door unless an enclosing app (the `devices` sub-app) already authenticated the request. */
const protectOnce = (): MiddlewareHandler<ApiEnv> => {
  const protect = protectApi();
  return async function protectOnce(c, next) {
    return c.get('user') ? next() : protect(c, next);
  };
};

/**
 * `GET /api/devices/:deviceId/events?after=&limit=`: the plain-JSON events of a device that belongs to no
 * organisation, oldest first with the same opaque cursors as the records log, for any user with a role on the device.
 * (A device in an organisation sends encrypted events to the organisation's log instead: `/api/orgs/:orgId/records`.)
 * Mounted at `/api/devices` beside the `devices` sub-app.
 */
export const deviceEventsApi = new Hono<ApiEnv>().get('/:deviceId/events', protectOnce(), validate('param', deviceParams), validate('query', recordsQuery), async (c) => {
  const db = database(c.env.DB);
  const { deviceId } = c.req.valid('param');
  const { after, limit } = c.req.valid('query');
  await requireDevice(db, deviceId, c.get('user'));
  const afterSeq = await readCursor(c.env, `device:${deviceId}`, after);
  const { rows, hasMore } = await pageLog(db, { deviceId }, afterSeq, limit);
  const cursor = await makeCursor(c.env, `device:${deviceId}`, rows.at(-1)?.seq ?? afterSeq);
  return c.json({ records: rows.map(recordViewOf), cursor, hasMore }, 200, { 'Cache-Control': 'no-store' });
});
