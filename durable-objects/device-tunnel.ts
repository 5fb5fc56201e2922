import { DurableObject } from 'cloudflare:workers';
import { HEARTBEAT_PING, HEARTBEAT_PONG } from '../lib/tunnel/index.ts';
import { tunnelConfig } from '../workers/devices/config.ts';
import { IDENTITY_HEADER, connectIdentitySchema, proxyHeadOf, readJsonHeader } from '../workers/devices/internal.ts';
import { acceptAgent, closeRevoked, connectionOf, liveSocket, notifyClaimed, onAgentClosed, onAlarm, tunnelContext, type Tunnel } from './tunnel/lifecycle.ts';
import { proxyFailure, proxyThroughTunnel } from './tunnel/proxy-stream.ts';

// A freshly connected agent says hello within a round trip; a request that arrives in between waits this long for it.
const HELLO_WAIT_MS = 5000;

/**
 * One object per device (named by device id) holding the device's multiplexed WebSocket tunnel
 * (docs/tunnel-protocol.md). It accepts the agent's socket with the hibernation API, so an idle device costs nothing:
 * the heartbeat is answered by the runtime's auto-response, and per-socket state lives in the attachment. Its behaviour
 * is in durable-objects/tunnel/; the Worker (workers/devices/) authenticates everything before it reaches the object.
 */
export class DeviceTunnel extends DurableObject<Env> {
  private readonly tunnel: Tunnel;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.tunnel = tunnelContext(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT_PING, HEARTBEAT_PONG));
  }

  /** `/connect` (an authenticated agent's upgrade) and `/proxy` (one proxied request); only the Worker can call these. */
  override async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === '/connect') {
      const identity = readJsonHeader(request, IDENTITY_HEADER, connectIdentitySchema);
      if (!identity || request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') return new Response('bad internal connect', { status: 400 });
      return acceptAgent(this.tunnel, identity);
    }
    if (path === '/proxy') {
      const head = proxyHeadOf(request);
      if (!head) return new Response('bad internal proxy request', { status: 400 });
      const ws = liveSocket(this.tunnel);
      const conn = ws && connectionOf(this.tunnel, ws);
      if (!conn || !(await conn.whenReady(HELLO_WAIT_MS))) return proxyFailure(503, 'The device is offline.', { 'Retry-After': '5' });
      return proxyThroughTunnel(conn, head, request.body, { headTimeoutMs: tunnelConfig(this.env).responseTimeoutMs });
    }
    return new Response('not found', { status: 404 });
  }

  /** Tells the connected device it has been claimed by `ownerId`; false when it is not connected. */
  async claimed(ownerId: string): Promise<boolean> {
    return notifyClaimed(this.tunnel, ownerId);
  }

  /** The device's certificates with these serials were revoked: a connection made with one of them is closed (4003). */
  async revoked(serials: string[]): Promise<boolean> {
    return closeRevoked(this.tunnel, serials);
  }

  /** Whether an agent is connected right now (its socket is open). */
  online(): boolean {
    return liveSocket(this.tunnel) !== undefined;
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const conn = connectionOf(this.tunnel, ws);
    if (conn) conn.receive(message);
    else ws.close(1011, 'no connection state');
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    await onAgentClosed(this.tunnel, ws, code, reason);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    await onAgentClosed(this.tunnel, ws, 1006, error instanceof Error ? error.message : 'socket error');
  }

  override async alarm(): Promise<void> {
    await onAlarm(this.tunnel);
  }
}
