import { encodeCursor } from '../../lib/records/cursor.ts';
import type { StreamServerFrame } from '../../lib/records/view.ts';
import type { Database } from '../../workers/db.ts';
import { pageLog, recordViewOf } from '../../workers/orgs/record-store.ts';
import { CLOSE, stateOf, type StreamState } from './socket-state.ts';

/** Log rows read per D1 query while replaying or fanning out. */
export const DRAIN_PAGE = 200;

/** What one drain pass needs: the database, the cursor key, the open sockets, and the clock. */
export type DrainDeps = { db: Database; cursorKey: CryptoKey; sockets: () => WebSocket[]; now: () => number };

const send = (ws: WebSocket, frame: StreamServerFrame): boolean => {
  try {
    ws.send(JSON.stringify(frame));
    return true;
  } catch {
    return false; // closed meanwhile; the runtime drops it from getWebSockets()
  }
};

/** Closes sockets whose token has expired; returns the ones still open with their state. */
export function liveSockets(sockets: WebSocket[], now: number): { ws: WebSocket; state: StreamState }[] {
  const live: { ws: WebSocket; state: StreamState }[] = [];
  for (const ws of sockets) {
    const state = stateOf(ws);
    if (!state || state.expiresAt <= now) {
      try {
        ws.close(CLOSE.expired, 'token expired; reconnect with a fresh token and the last cursor');
      } catch {
        /* already closing */
      }
      continue;
    }
    live.push({ ws, state });
  }
  return live;
}

/**
 * Brings every socket up to the end of the log: reads the rows after the furthest-behind socket, oldest first, and
 * sends each socket the rows past its own position, then `caught_up` once a short page shows the end was reached.
 * The log is read from D1 rather than taken from the writers' notifications, so rows committed in any order by
 * concurrent writers still reach every socket in sequence order, with none skipped.
 */
export async function drain(deps: DrainDeps): Promise<void> {
  for (;;) {
    const sockets = liveSockets(deps.sockets(), deps.now());
    const first = sockets[0];
    if (!first) return;
    const from = Math.min(...sockets.map((s) => s.state.lastSeq));
    const { rows } = await pageLog(deps.db, { orgId: first.state.orgId }, from, DRAIN_PAGE);
    const atEnd = rows.length < DRAIN_PAGE;
    const cursors = new Map<number, string>();
    const cursorOf = async (seq: number) => {
      let c = cursors.get(seq);
      if (c === undefined) cursors.set(seq, (c = await encodeCursor(deps.cursorKey, `org:${first.state.orgId}`, seq)));
      return c;
    };
    for (const { ws, state } of sockets) {
      let open = true;
      for (const row of rows) {
        if (row.seq <= state.lastSeq) continue;
        open = send(ws, { type: 'record', cursor: await cursorOf(row.seq), record: recordViewOf(row) });
        if (!open) break;
        state.lastSeq = row.seq;
      }
      if (open && atEnd && !state.caughtUp) {
        open = send(ws, { type: 'caught_up', cursor: await cursorOf(state.lastSeq) });
        state.caughtUp = open;
      }
      if (open) ws.serializeAttachment(state);
    }
    if (atEnd) return;
  }
}
