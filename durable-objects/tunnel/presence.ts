import { eq } from 'drizzle-orm';
import { deviceConnections, deviceEvents } from '../../schema/index.ts';
import type { Database } from '../../workers/db.ts';
import type { SocketState } from './socket-state.ts';

/**
 * A device's connection state, kept where each reader needs it: in the object's storage (the truth, read by the object
 * itself) and in D1 `device_connections` (so that the API lists status without waking every object), with every
 * connect and disconnect appended to `device_events`. Last seen is written to D1 coarsely (LAST_SEEN_WRITE_MS), not per
 * heartbeat: the heartbeat never wakes the object.
 */

/** How stale D1's `last_seen` may get while a device stays connected. */
export const LAST_SEEN_WRITE_MS = 5 * 60_000;

/** What the object stores under PRESENCE_KEY. */
export type Presence = {
  deviceId: string;
  online: boolean;
  since: number;
  /** The live connection (null when offline); a close event of any other connection is ignored. */
  connectionId: string | null;
  agentVersion: string | null;
  remoteAddr: string | null;
  lastSeen: number;
  /** The `last_seen` D1 holds. */
  lastSeenWritten: number;
  /** When the device token is next refreshed, and when the current claim code runs out (ms; null: none). */
  tokenRefreshAt: number | null;
  claimCodeExpiresAt: number | null;
};

/** The storage key of the presence record. */
export const PRESENCE_KEY = 'presence';

/** Reads the presence record (undefined for a device never connected to this object). */
export const readPresence = (storage: DurableObjectStorage) => storage.get<Presence>(PRESENCE_KEY);

/** Writes the presence record. */
export const writePresence = (storage: DurableObjectStorage, presence: Presence) => storage.put(PRESENCE_KEY, presence);

/**
 * Merges `patch` into the presence record if `connectionId` is still the live connection. Storage calls hold the
 * object's input gate, so nothing interleaves between the read and the write; callers that awaited D1 or signing in
 * between use this rather than writing back a record read before (a close may have been recorded meanwhile).
 */
export async function updatePresence(storage: DurableObjectStorage, connectionId: string, patch: Partial<Presence>): Promise<Presence | undefined> {
  const current = await readPresence(storage);
  if (!current || current.connectionId !== connectionId) return undefined;
  const next = { ...current, ...patch };
  await writePresence(storage, next);
  return next;
}

/** Records a new connection (and the one it replaced, if any) in D1. */
export async function recordConnected(db: Database, state: SocketState, replaced: string | null): Promise<void> {
  const at = state.connectedAt;
  const row = { online: true, since: at, lastSeen: at, agentVersion: state.agentVersion, remoteAddr: state.remoteAddr };
  const detail = { connectionId: state.connectionId, remoteAddr: state.remoteAddr, method: state.method, certificateSerial: state.certificateSerial };
  await db.batch([
    db.insert(deviceConnections).values({ deviceId: state.deviceId, ...row }).onConflictDoUpdate({ target: deviceConnections.deviceId, set: row }),
    ...(replaced ? [db.insert(deviceEvents).values({ deviceId: state.deviceId, type: 'replaced', detail: { connectionId: replaced, by: state.connectionId }, createdAt: at })] : []),
    db.insert(deviceEvents).values({ deviceId: state.deviceId, type: 'connected', detail, createdAt: at }),
  ]);
}

/** Records the agent's version once its `hello` arrived. */
export async function recordAgentVersion(db: Database, deviceId: string, agentVersion: string): Promise<void> {
  await db.update(deviceConnections).set({ agentVersion }).where(eq(deviceConnections.deviceId, deviceId));
}

/** Records that the live connection ended. */
export async function recordDisconnected(
  db: Database,
  deviceId: string,
  end: { connectionId: string; at: number; lastSeen: number; code: number; reason: string; connectedAt: number | null },
): Promise<void> {
  const detail = { connectionId: end.connectionId, code: end.code, reason: end.reason, ...(end.connectedAt ? { durationMs: end.at - end.connectedAt } : {}) };
  await db.batch([
    db.update(deviceConnections).set({ online: false, since: end.at, lastSeen: end.lastSeen }).where(eq(deviceConnections.deviceId, deviceId)),
    db.insert(deviceEvents).values({ deviceId, type: 'disconnected', detail, createdAt: end.at }),
  ]);
}

/** Records a later last-seen time of a device that stays connected. */
export async function recordLastSeen(db: Database, deviceId: string, lastSeen: number): Promise<void> {
  await db.update(deviceConnections).set({ lastSeen }).where(eq(deviceConnections.deviceId, deviceId));
}
