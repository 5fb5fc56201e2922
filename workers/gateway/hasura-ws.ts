import type { Context } from 'hono';
import { z } from 'zod';
import { BearerError, Problem } from '../../lib/errors.ts';
import { bearerToken } from '../auth/verify.ts';
import { authenticateToken } from './authenticate.ts';
import { gatewayConfig } from './config.ts';
import { sanitisedInitPayload } from './forward-headers.ts';
import type { GatewayEnv, Principal } from './principal.ts';
import { checkLimit, clientIp } from './rate-limit.ts';
import { hasuraUpstream, sendUpstream, type Upstream } from './upstream.ts';

/**
 * GraphQL subscriptions through the gateway: a WebSocket relay between the client and Hasura. Browsers cannot set
 * `Authorization` on a WebSocket, so graphql-ws clients put the token in `connection_init`'s `payload.headers` (what
 * Hasura reads); the relay waits for that first message, verifies the token (or the upgrade's header), sanitises the
 * payload as the HTTP proxy sanitises headers, opens the upstream socket and then copies frames both ways unchanged.
 * Close codes follow graphql-transport-ws: 4400 bad request, 4403 forbidden, 4408 init timeout, 4429 too many.
 */

/** Subprotocols relayed: graphql-ws's current one, and the legacy Apollo one Hasura still speaks. */
export const GRAPHQL_WS_PROTOCOLS = ['graphql-transport-ws', 'graphql-ws'] as const;

const INIT_TIMEOUT_MS = 10_000;
const initSchema = z.object({ type: z.literal('connection_init'), payload: z.record(z.string(), z.unknown()).nullish() });

/** A close the relay decides: code and reason for the client. */
class Close extends Error {
  readonly code: number;
  constructor(code: number, reason: string) {
    super(reason);
    this.code = code;
  }
}

/** Closes a socket, mapping codes an endpoint may not send (1005, 1006, 1015, …) to 1000 or 1011. */
function safeClose(ws: WebSocket, code: number, reason: string): void {
  const sendable = code === 1000 || (code >= 3000 && code <= 4999) ? code : code === 1001 ? 1000 : 1011;
  try {
    ws.close(sendable, reason.slice(0, 120));
  } catch {
    /* already closed */
  }
}

/** The token a `connection_init` payload carries, as Hasura and Apollo clients put it. */
function tokenFromPayload(payload: Record<string, unknown>): string {
  const headers = typeof payload.headers === 'object' && payload.headers !== null ? (payload.headers as Record<string, unknown>) : {};
  const value = Object.entries({ ...payload, ...headers }).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  return bearerToken(typeof value === 'string' ? value : undefined);
}

type Session = { env: Env; upstream: Upstream; protocol: string; early: { principal: Principal; token: string } | undefined; forward: Record<string, string> };

/** Authenticates the first frame and opens the upstream socket; throws Close with the reason for the client. */
async function open(s: Session, first: string | ArrayBuffer): Promise<WebSocket> {
  let init: z.output<typeof initSchema>;
  try {
    init = initSchema.parse(JSON.parse(typeof first === 'string' ? first : new TextDecoder().decode(first)));
  } catch {
    throw new Close(4400, 'The first message must be connection_init');
  }
  const payload = init.payload ?? {};
  let principal: Principal;
  let token: string;
  try {
    token = s.early?.token ?? tokenFromPayload(payload);
    principal = s.early?.principal ?? (await authenticateToken(s.env, token, { kind: 'any' }));
  } catch (err) {
    throw new Close(4403, err instanceof BearerError ? `Forbidden: ${err.message}` : 'Forbidden');
  }
  const rule = gatewayConfig(s.env).perSubject;
  const limited = rule ? await checkLimit(s.env, 'subject', `${principal.issuer}|${principal.subject}`, rule).catch(() => undefined) : undefined;
  if (limited && !limited.allowed) throw new Close(4429, 'Too many requests');
  let sanitised: Record<string, unknown>;
  try {
    sanitised = sanitisedInitPayload(payload, principal.hasura, `Bearer ${token}`);
  } catch (err) {
    throw new Close(4403, err instanceof Problem ? `Forbidden: ${err.message}` : 'Forbidden');
  }
  const headers = new Headers({ Upgrade: 'websocket', 'Sec-WebSocket-Protocol': s.protocol, Authorization: `Bearer ${token}`, ...s.forward });
  const role = (sanitised.headers as Record<string, unknown>)['x-hasura-role'];
  if (typeof role === 'string') headers.set('x-hasura-role', role);
  let res: Response;
  try {
    res = await sendUpstream(s.upstream, new Request(s.upstream.url, { headers }));
  } catch {
    throw new Close(4502, 'The GraphQL upstream cannot be reached');
  }
  const ws = res.webSocket;
  if (!ws) throw new Close(4502, `The GraphQL upstream refused the WebSocket (${res.status})`);
  ws.accept();
  ws.send(JSON.stringify({ type: 'connection_init', payload: sanitised }));
  return ws;
}

/** Wires the client socket: the first frame opens the upstream, later ones are queued until it is open, then copied. */
function relay(client: WebSocket, s: Session): void {
  let upstream: WebSocket | undefined;
  let state: 'init' | 'connecting' | 'open' | 'closed' = 'init';
  const queued: (string | ArrayBuffer)[] = [];
  const timer = setTimeout(() => {
    state = 'closed';
    safeClose(client, 4408, 'Connection initialisation timeout');
  }, INIT_TIMEOUT_MS);

  client.addEventListener('message', (event) => {
    if (state === 'open') upstream?.send(event.data);
    else if (state === 'connecting') queued.push(event.data);
    else if (state === 'init') {
      state = 'connecting';
      clearTimeout(timer);
      open(s, event.data).then(
        (ws) => {
          if (state === 'closed') return safeClose(ws, 1000, 'client left');
          upstream = ws;
          ws.addEventListener('message', (e) => {
            if (state === 'open') client.send(e.data);
          });
          ws.addEventListener('close', (e) => {
            state = 'closed';
            safeClose(client, e.code, e.reason);
          });
          ws.addEventListener('error', () => safeClose(client, 1011, 'upstream error'));
          state = 'open';
          for (const data of queued.splice(0)) ws.send(data);
        },
        (err: unknown) => {
          state = 'closed';
          safeClose(client, err instanceof Close ? err.code : 1011, err instanceof Close ? err.message : 'internal error');
        },
      );
    }
  });
  client.addEventListener('close', (event) => {
    state = 'closed';
    clearTimeout(timer);
    if (upstream) safeClose(upstream, event.code, event.reason);
  });
  client.addEventListener('error', () => {
    if (upstream) safeClose(upstream, 1011, 'client error');
  });
}

/** Answers a WebSocket upgrade on `/v1/graphql` with a relayed socket (101), or a problem before upgrading. */
export async function relayGraphqlWebSocket(c: Context<GatewayEnv>): Promise<Response> {
  const upstream = hasuraUpstream(c.env);
  const offered = (c.req.header('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
  const protocol = GRAPHQL_WS_PROTOCOLS.find((p) => offered.includes(p));
  if (!protocol) throw new Problem(400, 'Bad Request', { detail: 'Offer the graphql-transport-ws WebSocket subprotocol.' });
  const header = c.req.header('authorization');
  const early = header ? { token: bearerToken(header), principal: await authenticateToken(c.env, bearerToken(header), { kind: 'any' }) } : undefined;
  const incoming = new URL(c.req.url);
  const forward: Record<string, string> = { 'x-forwarded-proto': incoming.protocol.replace(':', ''), 'x-forwarded-host': incoming.host, via: '1.1 gatehouse' };
  const ip = clientIp(c);
  if (ip) forward['x-forwarded-for'] = ip;
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  relay(server, { env: c.env, upstream, protocol, early, forward });
  return new Response(null, { status: 101, webSocket: client, headers: { 'Sec-WebSocket-Protocol': protocol } });
}
