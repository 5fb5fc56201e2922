import { Hono, type MiddlewareHandler } from 'hono';
import { authenticate } from './authenticate.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './forward-headers.ts';
import { relayGraphqlWebSocket } from './hasura-ws.ts';
import type { GatewayEnv } from './principal.ts';
import { clientIp, enforceIpLimit } from './rate-limit.ts';
import { hasuraUpstream, sendUpstream } from './upstream.ts';

/** WebSocket upgrades (GraphQL subscriptions) take the relay, which authenticates from the upgrade or `connection_init`. */
const subscriptions = (): MiddlewareHandler<GatewayEnv> =>
  async function subscriptions(c, next) {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return next();
    await enforceIpLimit(c.env, clientIp(c), c.get('log'));
    return relayGraphqlWebSocket(c);
  };

/**
 * `ANY /v1/graphql`: the Hasura proxy. The bearer token is verified here and passed on (Hasura, in JWT mode, verifies the
 * same JWT); client `x-hasura-*` headers are dropped but a role the token allows; bodies stream both ways, unbuffered.
 */
export const hasura = new Hono<GatewayEnv>().all(
  '/v1/graphql',
  subscriptions(),
  authenticate({ kind: 'any' }),
  async function hasuraProxy(c) {
    const upstream = hasuraUpstream(c.env);
    const incoming = new URL(c.req.url);
    const url = new URL(upstream.url);
    if (!url.search) url.search = incoming.search;
    const headers = upstreamRequestHeaders(c.req.raw.headers, {
      session: c.get('principal').hasura,
      clientIp: clientIp(c),
      proto: incoming.protocol.replace(':', ''),
      host: incoming.host,
      requestId: c.get('requestId'),
    });
    const hasBody = c.req.method !== 'GET' && c.req.method !== 'HEAD';
    const request = new Request(url, { method: c.req.method, headers, body: hasBody ? c.req.raw.body : null, redirect: 'manual' });
    const res = await sendUpstream(upstream, request);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: downstreamResponseHeaders(res.headers) });
  },
);
