import { Hono } from 'hono';
import { Problem } from '../../lib/errors.ts';
import { STREAM_STATE_HEADER, type StreamState } from '../../durable-objects/org-log/socket-state.ts';
import { database } from '../db.ts';
import { actorId, type OrgEnv } from './caller.ts';
import { validate } from '../validate.ts';
import { readCursor } from './log-cursor.ts';
import { requireOrg } from './org-store.ts';
import { orgParams, streamQuery } from './schemas.ts';

/**
 * `GET /api/orgs/:orgId/records/stream?after=<cursor>`: a WebSocket that replays the log after the cursor, sends
 * `caught_up`, then pushes each new entry as it is appended (frames: lib/records/view.ts). The Worker authenticates
 * the member and checks the cursor; the organisation's OrgLog Durable Object holds the socket. The socket is closed
 * (4401) when the token it was opened with expires, and (4403) when its user leaves the organisation or its bound
 * app client is revoked (the socket's `userId` is then `client:<clientId>`).
 */
export const streamRoutes = new Hono<OrgEnv>().get('/:orgId/records/stream', validate('param', orgParams), validate('query', streamQuery), async (c) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new Problem(426, 'Upgrade Required', { detail: 'Open this URL as a WebSocket.', headers: { Upgrade: 'websocket' }, type: 'urn:gatehouse:problem:upgrade-required' });
  }
  const { orgId } = c.req.valid('param');
  const caller = c.get('caller');
  await requireOrg(database(c.env.DB), orgId, caller);
  const lastSeq = await readCursor(c.env, `org:${orgId}`, c.req.valid('query').after);
  const state: StreamState = { orgId, userId: actorId(caller), lastSeq, caughtUp: false, expiresAt: c.get('principal').expiresAt * 1000 };
  const res = await c.env.ORG_LOG.getByName(orgId).fetch('https://org-log.internal/stream', { headers: { Upgrade: 'websocket', [STREAM_STATE_HEADER]: JSON.stringify(state) } });
  if (res.status !== 101 || !res.webSocket) throw new Error(`org log refused the stream: ${res.status}`);
  return new Response(null, { status: 101, webSocket: res.webSocket });
});
