import { Problem } from '../../lib/errors.ts';
import type { HasuraSession } from './principal.ts';

/**
 * Header rules of the Hasura proxy, as pure functions. RFC 9110 §7.6.1: a proxy removes the hop-by-hop fields
 * (Connection, the fields Connection names, and the legacy Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
 * Upgrade) in both directions. Session variables come from the verified JWT only: every client-sent `x-hasura-*` header
 * is dropped, except `x-hasura-role`, which must be one of the token's allowed roles.
 */

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-authorization', 'http2-settings'];

/** Request fields that describe this edge, not the client's request: the upstream must not see the client's versions. */
const EDGE_FIELDS = ['host', 'cookie', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip', 'x-request-id', 'via'];

/** The hop-by-hop field names of a message: the fixed list plus those its Connection field names. */
export function hopByHopNames(headers: Headers): Set<string> {
  const named = (headers.get('connection') ?? '').split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  return new Set([...HOP_BY_HOP, ...named]);
}

/** The Hasura role header, checked against the token's allowed roles; 403 when the token does not allow it. */
export function checkedRole(role: string | null | undefined, session: HasuraSession | null): string | undefined {
  if (role === null || role === undefined) return undefined;
  const wanted = role.trim();
  if (!session || !session.allowedRoles.includes(wanted)) {
    throw new Problem(403, 'Forbidden', {
      detail: `The role "${wanted.slice(0, 64)}" is not one of the token's allowed roles.`,
      type: 'urn:gatehouse:problem:role-not-allowed',
    });
  }
  return wanted;
}

/** What the proxy adds about the original request. */
export type ForwardContext = { session: HasuraSession | null; clientIp: string | undefined; proto: string; host: string; requestId: string | undefined };

/** The request headers to send upstream: the client's, minus hop-by-hop, edge and `x-hasura-*` fields, plus forwarding fields. */
export function upstreamRequestHeaders(incoming: Headers, ctx: ForwardContext): Headers {
  const drop = hopByHopNames(incoming);
  const role = checkedRole(incoming.get('x-hasura-role'), ctx.session);
  const out = new Headers();
  for (const [name, value] of incoming) {
    if (drop.has(name) || EDGE_FIELDS.includes(name) || name.startsWith('x-hasura-') || name.startsWith('cf-')) continue;
    out.append(name, value);
  }
  if (role) out.set('x-hasura-role', role);
  if (ctx.clientIp) out.set('x-forwarded-for', ctx.clientIp);
  out.set('x-forwarded-proto', ctx.proto);
  out.set('x-forwarded-host', ctx.host);
  if (ctx.requestId) out.set('x-request-id', ctx.requestId);
  out.set('via', '1.1 gatehouse'); // RFC 9110 §7.6.3
  return out;
}

/** The response headers to send the client: the upstream's, minus hop-by-hop fields and cookies (this origin's cookies are ours). */
export function downstreamResponseHeaders(upstream: Headers): Headers {
  const drop = hopByHopNames(upstream);
  const out = new Headers();
  for (const [name, value] of upstream) {
    if (drop.has(name) || name === 'set-cookie') continue;
    out.append(name, value);
  }
  // The runtime decodes a compressed upstream body and re-encodes it on the way out, so the upstream's length no longer holds.
  if (out.has('content-encoding')) out.delete('content-length');
  out.append('via', '1.1 gatehouse');
  return out;
}

/** Sanitises a graphql-ws `connection_init` payload the same way: its `headers` lose `x-hasura-*` (but a checked role) and gain the token. */
export function sanitisedInitPayload(payload: Record<string, unknown>, session: HasuraSession | null, authorization: string): Record<string, unknown> {
  const given = typeof payload.headers === 'object' && payload.headers !== null && !Array.isArray(payload.headers) ? (payload.headers as Record<string, unknown>) : {};
  const headers: Record<string, unknown> = {};
  let role: string | undefined;
  for (const [name, value] of Object.entries(given)) {
    const lower = name.toLowerCase();
    if (lower === 'x-hasura-role') role = checkedRole(typeof value === 'string' ? value : String(value), session);
    else if (!lower.startsWith('x-hasura-') && lower !== 'authorization' && lower !== 'cookie') headers[name] = value;
  }
  if (role) headers['x-hasura-role'] = role;
  headers.Authorization = authorization;
  const rest = Object.fromEntries(Object.entries(payload).filter(([k]) => k !== 'headers' && !k.toLowerCase().startsWith('x-hasura-') && k.toLowerCase() !== 'authorization'));
  return { ...rest, headers };
}
