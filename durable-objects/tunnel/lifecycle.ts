import { eq } from 'drizzle-orm';
import { CloseCode, ErrorCode, TUNNEL_SUBPROTOCOL, encodeGoaway } from '../../lib/tunnel/index.ts';
import { devices } from '../../schema/index.ts';
import { database } from '../../workers/db.ts';
import { issueClaimCode } from '../../workers/devices/claim-store.ts';
import { tunnelConfig } from '../../workers/devices/config.ts';
import { mintDeviceToken } from '../../workers/devices/device-token.ts';
import type { ConnectIdentity } from '../../workers/devices/internal.ts';
import { createLogger, type Logger } from '../../workers/middleware/logger.ts';
import { createConnection, type Connection } from './connection.ts';
import { LAST_SEEN_WRITE_MS, readPresence, recordAgentVersion, recordConnected, recordDisconnected, recordLastSeen, updatePresence, writePresence, type Presence } from './presence.ts';
import { AGENT_TAG, socketStateOf, type SocketState } from './socket-state.ts';

/**
 * The life of a device's connection, as plain functions over the object's state: accept (replacing an older socket),
 * push credentials (device token, claim code), watch the heartbeat and refresh credentials from the alarm, and record
 * the end. The DeviceTunnel class only routes runtime events here.
 */

/** What these functions work on: the object's state and env, and the in-memory runtimes of its sockets. */
export type Tunnel = { ctx: DurableObjectState; env: Env; connections: Map<WebSocket, Connection>; log: Logger };

/** The tunnel context of an object. */
export const tunnelContext = (ctx: DurableObjectState, env: Env): Tunnel => ({ ctx, env, connections: new Map(), log: createLogger({ component: 'device-tunnel' }) });

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The runtime of an agent socket, rebuilt from its attachment after hibernation; undefined for a socket without state. */
export function connectionOf(t: Tunnel, ws: WebSocket): Connection | undefined {
  const existing = t.connections.get(ws);
  if (existing) return existing;
  const state = socketStateOf(ws);
  if (!state) return undefined;
  const conn = createConnection(ws, state, {
    hello: (s) => t.ctx.waitUntil(onHello(t, s)),
    failed: (error) => t.log.warn('tunnel protocol error', { deviceId: state.deviceId, code: error.code, error: error.message }),
  });
  t.connections.set(ws, conn);
  return conn;
}

/** The device's live agent socket, if any. */
export function liveSocket(t: Tunnel): WebSocket | undefined {
  return t.ctx.getWebSockets(AGENT_TAG).filter((ws) => ws.readyState === WebSocket.OPEN).at(-1);
}

/** Last sign of life: the newest of the heartbeat auto-response, the last frame while awake, and the connect time. */
function lastSeenOf(t: Tunnel, ws: WebSocket, state: SocketState): number {
  const heartbeat = t.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
  return Math.max(heartbeat, t.connections.get(ws)?.lastFrameAt() ?? 0, state.connectedAt);
}

async function onHello(t: Tunnel, state: SocketState): Promise<void> {
  if (state.agentVersion === null || !(await updatePresence(t.ctx.storage, state.connectionId, { agentVersion: state.agentVersion }))) return;
  await recordAgentVersion(database(t.env.DB), state.deviceId, state.agentVersion).catch((err: unknown) => t.log.error('device connection not recorded', { deviceId: state.deviceId, error: errorText(err) }));
}

type Credentials = Pick<Presence, 'tokenRefreshAt' | 'claimCodeExpiresAt'>;

/** Sends a fresh device token and, to an unclaimed device, a fresh claim code; returns when each is next due. */
async function pushCredentials(t: Tunnel, conn: Connection, what: { token: boolean; claimCode: boolean }, now = Date.now()): Promise<Partial<Credentials>> {
  const config = tunnelConfig(t.env);
  const state = conn.state();
  const due: Partial<Credentials> = {};
  if (what.token) {
    const { token, expiresAt } = await mintDeviceToken(t.env, state, { ttlSeconds: config.deviceTokenTtlSeconds, now });
    conn.control({ type: 'device_token', token, expiresAt });
    due.tokenRefreshAt = now + Math.floor((config.deviceTokenTtlSeconds * 1000 * 2) / 3);
  }
  if (what.claimCode) {
    const db = database(t.env.DB);
    const device = await db.query.devices.findFirst({ columns: { status: true }, where: eq(devices.id, state.deviceId) });
    due.claimCodeExpiresAt = null;
    if (device?.status === 'unclaimed') {
      const { code, expiresAt } = await issueClaimCode(db, state.deviceId, { ttlSeconds: config.claimCodeTtlSeconds, now });
      conn.control({ type: 'claim_code', code, expiresAt: Math.floor(expiresAt / 1000) });
      due.claimCodeExpiresAt = expiresAt;
    } else if (device?.status === 'claimed') {
      // A device claimed while it was away learns it now, and drops the code it may still hold.
      conn.control({ type: 'claimed' });
    }
  }
  return due;
}

/** Arms the alarm for the next heartbeat check or credential refresh, whichever is first. */
async function schedule(t: Tunnel, presence: Presence): Promise<void> {
  const due = [presence.lastSeen + tunnelConfig(t.env).deadAfterMs + 1000, presence.tokenRefreshAt ?? Infinity, presence.claimCodeExpiresAt ?? Infinity];
  await t.ctx.storage.setAlarm(Math.max(Math.min(...due), Date.now() + 1000));
}

/** Accepts an authenticated agent's WebSocket, closing the device's older connection with 4000 REPLACED. */
export async function acceptAgent(t: Tunnel, identity: ConnectIdentity): Promise<Response> {
  const now = Date.now();
  const older = t.ctx.getWebSockets(AGENT_TAG);
  const previous = await readPresence(t.ctx.storage);
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  t.ctx.acceptWebSocket(server, [AGENT_TAG]);
  const state: SocketState = { ...identity, connectionId: crypto.randomUUID(), connectedAt: now, agentVersion: null, peerSettings: null, lastWireId: 0 };
  server.serializeAttachment(state);
  // The new connection is the live one before anything can await I/O, so the old socket's close event changes nothing.
  await writePresence(t.ctx.storage, {
    deviceId: state.deviceId, online: true, since: now, connectionId: state.connectionId, agentVersion: null, remoteAddr: state.remoteAddr,
    lastSeen: now, lastSeenWritten: now, tokenRefreshAt: now + 10_000, claimCodeExpiresAt: null,
  });
  for (const ws of older) {
    connectionOf(t, ws)?.lose();
    t.connections.delete(ws);
    try {
      ws.send(encodeGoaway(0, ErrorCode.NO_ERROR, 'replaced by a newer connection'));
      ws.close(CloseCode.REPLACED, 'replaced by a newer connection');
    } catch {
      /* already gone */
    }
  }
  const conn = connectionOf(t, server) as Connection;
  const config = tunnelConfig(t.env);
  conn.control({ type: 'config', settings: conn.settings, pingIntervalSeconds: config.pingIntervalSeconds, pingTimeoutSeconds: config.pingTimeoutSeconds });
  const replaced = older.length > 0 && previous?.online ? previous.connectionId : null;
  let due: Partial<Credentials> = {};
  try {
    await recordConnected(database(t.env.DB), state, replaced);
    due = await pushCredentials(t, conn, { token: true, claimCode: true }, now);
  } catch (err) {
    // The tunnel works without them; the alarm retries the credentials in 10 s.
    t.log.error('device connect bookkeeping failed', { deviceId: state.deviceId, error: errorText(err) });
  }
  const presence = await updatePresence(t.ctx.storage, state.connectionId, due);
  if (presence) await schedule(t, presence);
  t.log.info('device connected', { deviceId: state.deviceId, connectionId: state.connectionId, replaced: replaced ?? undefined });
  return new Response(null, { status: 101, webSocket: client, headers: { 'Sec-WebSocket-Protocol': TUNNEL_SUBPROTOCOL } });
}

/** Marks the device offline if `connectionId` is still its live connection (a replaced one changes nothing). */
async function markOffline(t: Tunnel, state: Pick<SocketState, 'deviceId' | 'connectionId' | 'connectedAt'>, end: { code: number; reason: string; lastSeen: number }): Promise<void> {
  const presence = await readPresence(t.ctx.storage);
  if (!presence || presence.connectionId !== state.connectionId) return;
  const at = Date.now();
  await writePresence(t.ctx.storage, { ...presence, online: false, since: at, connectionId: null, lastSeen: end.lastSeen, tokenRefreshAt: null, claimCodeExpiresAt: null });
  await t.ctx.storage.deleteAlarm();
  await recordDisconnected(database(t.env.DB), state.deviceId, { connectionId: state.connectionId, at, lastSeen: end.lastSeen, code: end.code, reason: end.reason, connectedAt: state.connectedAt }).catch((err: unknown) =>
    t.log.error('device disconnect not recorded', { deviceId: state.deviceId, error: errorText(err) }),
  );
  t.log.info('device disconnected', { deviceId: state.deviceId, connectionId: state.connectionId, code: end.code });
}

/** The agent's socket closed or failed: its streams fail, and the device goes offline unless a newer socket replaced it. */
export async function onAgentClosed(t: Tunnel, ws: WebSocket, code: number, reason: string): Promise<void> {
  const state = socketStateOf(ws);
  const lastSeen = state ? lastSeenOf(t, ws, state) : Date.now();
  t.connections.get(ws)?.lose();
  t.connections.delete(ws);
  try {
    ws.close(code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1000, 'closed');
  } catch {
    /* already closed */
  }
  if (state) await markOffline(t, state, { code, reason, lastSeen });
}

/** The alarm: closes a silent socket (4002), refreshes the device token and claim code, and records last seen. */
export async function onAlarm(t: Tunnel): Promise<void> {
  const presence = await readPresence(t.ctx.storage);
  if (!presence?.online || !presence.connectionId) return;
  const ws = t.ctx.getWebSockets(AGENT_TAG).find((s) => socketStateOf(s)?.connectionId === presence.connectionId);
  const state = ws && socketStateOf(ws);
  if (!ws || !state) {
    // The socket vanished without a close event (the object was restarted): the device is not connected.
    const who = { deviceId: presence.deviceId, connectionId: presence.connectionId, connectedAt: presence.since };
    return markOffline(t, who, { code: 1006, reason: 'connection lost', lastSeen: presence.lastSeen });
  }
  const now = Date.now();
  const lastSeen = lastSeenOf(t, ws, state);
  if (now - lastSeen > tunnelConfig(t.env).deadAfterMs) {
    t.connections.get(ws)?.lose();
    t.connections.delete(ws);
    try {
      ws.close(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
    } catch {
      /* already closed */
    }
    return markOffline(t, state, { code: CloseCode.HEARTBEAT_TIMEOUT, reason: 'heartbeat timeout', lastSeen });
  }
  // Only what changed is written. Every storage write is a disk sync, and a fleet's liveness alarms add up: a healthy
  // link's alarm writes nothing but the next alarm, and the stored lastSeen lags by at most LAST_SEEN_WRITE_MS, as D1's does.
  const patch: Partial<Presence> = {};
  if (lastSeen - presence.lastSeenWritten >= LAST_SEEN_WRITE_MS) {
    await recordLastSeen(database(t.env.DB), state.deviceId, lastSeen).catch(() => undefined);
    patch.lastSeen = lastSeen;
    patch.lastSeenWritten = lastSeen;
  }
  const conn = connectionOf(t, ws);
  const token = (presence.tokenRefreshAt ?? 0) <= now;
  const claimCode = presence.claimCodeExpiresAt !== null && presence.claimCodeExpiresAt <= now + 5000;
  if (conn && (token || claimCode)) {
    try {
      Object.assign(patch, await pushCredentials(t, conn, { token, claimCode }, now));
    } catch (err) {
      t.log.error('device credential refresh failed', { deviceId: state.deviceId, error: errorText(err) });
      patch.tokenRefreshAt = now + 10_000;
    }
  }
  const next = Object.keys(patch).length === 0 ? presence : await updatePresence(t.ctx.storage, presence.connectionId, patch);
  if (next) await schedule(t, { ...next, lastSeen: Math.max(next.lastSeen, lastSeen) });
}

/**
 * Closes the device's live connection (4003) if it authenticated with one of the `serials` just revoked, and marks the
 * device offline: a revoked certificate must not keep a tunnel it opened before the revocation. True if one was closed.
 */
export async function closeRevoked(t: Tunnel, serials: readonly string[]): Promise<boolean> {
  let closed = false;
  for (const ws of t.ctx.getWebSockets(AGENT_TAG)) {
    const state = socketStateOf(ws);
    if (!state || !serials.includes(state.certificateSerial)) continue;
    const lastSeen = lastSeenOf(t, ws, state);
    t.connections.get(ws)?.lose();
    t.connections.delete(ws);
    try {
      ws.send(encodeGoaway(0, ErrorCode.NO_ERROR, 'certificate revoked'));
      ws.close(CloseCode.REVOKED, 'certificate revoked');
    } catch {
      /* already closed */
    }
    await markOffline(t, state, { code: CloseCode.REVOKED, reason: 'certificate revoked', lastSeen });
    closed = true;
  }
  return closed;
}

/** Tells the connected device it has been claimed (the claim endpoint calls this); false when it is not connected. */
export async function notifyClaimed(t: Tunnel, ownerId: string): Promise<boolean> {
  const presence = await readPresence(t.ctx.storage);
  if (presence?.connectionId) await updatePresence(t.ctx.storage, presence.connectionId, { claimCodeExpiresAt: null });
  const ws = liveSocket(t);
  const conn = ws && connectionOf(t, ws);
  return conn ? conn.control({ type: 'claimed', ownerId }) : false;
}
