import { DurableObject } from 'cloudflare:workers';
import { streamClientFrame } from '../lib/records/view.ts';
import { database } from '../workers/db.ts';
import { logCursorKey } from '../workers/orgs/log-cursor.ts';
import { drain, liveSockets } from './org-log/drain.ts';
import { CLOSE, STREAM_STATE_HEADER, streamState } from './org-log/socket-state.ts';

const PING = '{"type":"ping"}';
const PONG = '{"type":"pong"}';

/**
 * One object per organisation (named by its id): the live fan-out of the organisation's log to WebSocket streams.
 * It holds sockets with the hibernation API (`acceptWebSocket`, state in attachments) and keeps no log of its own:
 * writers `poke()` it after each D1 insert and it drains from D1 (org-log/drain.ts), which also serves the replay a
 * new socket starts with. Pings are answered by the runtime without waking it.
 */
export class OrgLog extends DurableObject<Env> {
  private draining = false;
  private again = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /** Accepts a stream socket the Worker has authorised; its initial state comes in STREAM_STATE_HEADER. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket upgrade', { status: 426 });
    let raw: unknown;
    try {
      raw = JSON.parse(request.headers.get(STREAM_STATE_HEADER) ?? '');
    } catch {
      raw = undefined;
    }
    const state = streamState.safeParse(raw);
    if (!state.success) return new Response('missing stream state', { status: 400 });
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [state.data.userId]);
    server.serializeAttachment(state.data);
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > state.data.expiresAt) await this.ctx.storage.setAlarm(state.data.expiresAt);
    void this.poke();
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Sends new rows to every socket; called by writers after each insert. Concurrent pokes coalesce into one more pass. */
  async poke(): Promise<void> {
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    try {
      const deps = { db: database(this.env.DB), cursorKey: await logCursorKey(this.env), sockets: () => this.ctx.getWebSockets(), now: Date.now };
      do {
        this.again = false;
        await drain(deps);
      } while (this.again);
    } catch (err) {
      console.error(JSON.stringify({ level: 'error', msg: 'org log drain failed', error: err instanceof Error ? err.message : String(err) }));
    } finally {
      this.draining = false;
    }
  }

  /** Closes the streams of a user who left or was removed from the organisation; returns how many. */
  disconnectUser(userId: string): number {
    const sockets = this.ctx.getWebSockets(userId);
    for (const ws of sockets) ws.close(CLOSE.revoked, 'no longer a member of this organisation');
    return sockets.length;
  }

  /** Client frames are validated; a ping in any spacing gets a pong, anything else closes the socket (1008). */
  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    let frame: unknown;
    try {
      frame = typeof message === 'string' ? JSON.parse(message) : undefined;
    } catch {
      frame = undefined;
    }
    if (streamClientFrame.safeParse(frame).success) return ws.send(PONG);
    ws.send(JSON.stringify({ type: 'error', error: 'unexpected frame: clients may only send {"type":"ping"}' }));
    ws.close(CLOSE.policy, 'unexpected frame');
  }

  /** Completes the closing handshake the client started. */
  override webSocketClose(ws: WebSocket, code: number): void {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, 'bye');
    } catch {
      /* already closed */
    }
  }

  /** Closes the sockets whose token expired and re-arms for the next expiry. */
  override async alarm(): Promise<void> {
    const live = liveSockets(this.ctx.getWebSockets(), Date.now());
    const next = Math.min(...live.map((s) => s.state.expiresAt));
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(next);
  }
}
