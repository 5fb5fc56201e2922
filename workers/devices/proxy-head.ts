import { Problem } from '../../lib/errors.ts';
import { MAX_HEADERS, requestHeadSchema, type RequestHead } from '../../lib/tunnel/index.ts';

/**
 * Which header fields cross the tunnel, in each direction (docs/tunnel-protocol.md §3 OPEN, §5.3). Heads carry
 * end-to-end fields only: hop-by-hop fields (RFC 9110 §7.6.1) and the per-hop WebSocket handshake fields are dropped,
 * as are the platform's own credentials and what Cloudflare adds at its edge.
 */

// RFC 9110 §7.6.1, plus the WebSocket handshake fields that belong to each hop (RFC 6455 §4) and framing fields.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length',
  'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-accept',
]);

// The platform's credential and what Cloudflare's edge adds about the client (replaced by X-Forwarded-For below).
const PLATFORM = new Set(['x-device-access-token', 'cf-connecting-ip', 'cf-connecting-ipv6', 'cf-ipcountry', 'cf-ray', 'cf-visitor', 'cf-worker', 'cdn-loop', 'x-real-ip']);

/** The fields a `Connection` header names are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionOptions(headers: Headers): Set<string> {
  return new Set((headers.get('connection') ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
}

/** End-to-end fields of `headers` as ordered pairs, without hop-by-hop fields and the names in `drop`. */
export function endToEndHeaders(headers: Headers, drop: ReadonlySet<string> = new Set()): [string, string][] {
  const named = connectionOptions(headers);
  const out: [string, string][] = [];
  // Iterating Headers yields each Set-Cookie on its own and joins other repeated fields with ", " (Fetch §2.2.2).
  for (const [name, value] of headers) if (!HOP_BY_HOP.has(name) && !named.has(name) && !drop.has(name)) out.push([name, value]);
  return out;
}

/**
 * The OPEN head for a proxied request: method, the path after `/proxy` with the query, and its end-to-end headers.
 * `authorizationIsPlatform` drops `Authorization` when it carried the device-access token. Throws a 400 problem when
 * the path cannot cross the tunnel (docs/tunnel-protocol.md §12).
 */
export function buildRequestHead(request: Request, opts: { path: string; authorizationIsPlatform: boolean; websocket: boolean }): RequestHead {
  const drop = new Set(PLATFORM);
  if (opts.authorizationIsPlatform) drop.add('authorization');
  const headers = endToEndHeaders(request.headers, drop);
  const ip = request.headers.get('cf-connecting-ip');
  if (ip) {
    const prior = request.headers.get('x-forwarded-for');
    const at = headers.findIndex(([n]) => n === 'x-forwarded-for');
    if (at >= 0) headers.splice(at, 1);
    headers.push(['x-forwarded-for', prior ? `${prior}, ${ip}` : ip]);
  }
  if (headers.length > MAX_HEADERS) throw new Problem(431, 'Request Header Fields Too Large', { detail: `At most ${MAX_HEADERS} header fields can be forwarded to a device.` });
  const head = { method: request.method, path: opts.path, headers, ...(opts.websocket ? { websocket: true as const } : {}) };
  const parsed = requestHeadSchema.safeParse(head);
  if (!parsed.success) {
    throw new Problem(400, 'Bad Request', { detail: 'This request cannot be forwarded to the device (its path or headers are not allowed).', type: 'urn:gatehouse:problem:proxy-request' });
  }
  return parsed.data;
}
