/**
 * The local service the tunnel forwards to (`--forward http://127.0.0.1:PORT`), and which header fields cross between
 * a tunnel head and a local HTTP message. The target is always the configured origin plus the head's path, joined as
 * strings: a proxied path can never choose the host the agent connects to (docs/tunnel-protocol.md §12).
 */
import type { RequestOptions } from 'node:http';
import { MAX_HEADERS, type RequestHead } from '../../lib/tunnel/index.ts';

/** A parsed `--forward` target. */
export interface ForwardTarget {
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  readonly port: number;
  /** A base path the proxied paths are appended to, without a trailing slash ('' for the root). */
  readonly prefix: string;
  /** The origin as given, for logs. */
  readonly origin: string;
}

/** Parses a `--forward` URL: http(s), a host, an optional base path, no credentials, query or fragment; throws `TypeError` otherwise. */
export function parseForward(value: string): ForwardTarget {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`--forward "${value}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('--forward must be an http:// or https:// URL');
  if (url.username || url.password || url.search || url.hash) throw new TypeError('--forward must not carry credentials, a query or a fragment');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  // WHATWG URL keeps IPv6 literals bracketed; node:http wants them bare.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { protocol: url.protocol, hostname, port, prefix: url.pathname.replace(/\/+$/, ''), origin: url.origin };
}

/** The request path at the local service: prefix + path, never `new URL(path, base)`. */
export const localPath = (target: ForwardTarget, head: RequestHead): string => `${target.prefix}${head.path}`;

/** The ws:// or wss:// URL of a WebSocket upgrade at the local service ('#' escaped: the ws client refuses fragments). */
export const localWebSocketUrl = (target: ForwardTarget, head: RequestHead): string =>
  `${target.protocol === 'https:' ? 'wss:' : 'ws:'}//${localHost(target)}${localPath(target, head).replace(/#/g, '%23')}`;

// RFC 9110 §7.6.1 hop-by-hop fields, plus the fields each hop sets itself: Host (the local origin), the body framing
// (END marks the end of a body), Expect (this hop has the body already), and the WebSocket handshake (RFC 6455 §4).
const PER_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'expect',
  'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-accept',
]);

/** Header pairs without the per-hop fields (and those a `Connection` field names, RFC 9110 §7.6.1), in order. */
export function endToEnd(pairs: readonly (readonly [string, string])[], drop: ReadonlySet<string> = new Set()): [string, string][] {
  const named = new Set<string>();
  for (const [name, value] of pairs) {
    if (name.toLowerCase() === 'connection') for (const option of value.split(',')) named.add(option.trim().toLowerCase());
  }
  const out: [string, string][] = [];
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    if (!PER_HOP.has(lower) && !named.has(lower) && !drop.has(lower)) out.push([name, value]);
  }
  return out;
}

/** The Host field for the local service (RFC 9110 §7.2): its own authority, not the public one. */
export const localHost = (target: ForwardTarget): string =>
  `${target.hostname.includes(':') ? `[${target.hostname}]` : target.hostname}:${target.port}`;

/**
 * The head's fields for the local request, as Node's flat [name, value, …] list, which keeps repeated fields apart.
 * Node adds no Host to a list, so it comes first here.
 */
export function localRequestHeaders(target: ForwardTarget, head: RequestHead): string[] {
  return ['host', localHost(target), ...endToEnd(head.headers, new Set(['content-length'])).flat()];
}

/** The fields of a local response for a RESPONSE head, from Node's `rawHeaders` (names as sent, repeats kept). */
export function responseHeaderPairs(rawHeaders: readonly string[], drop: ReadonlySet<string> = new Set()): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) pairs.push([rawHeaders[i] as string, rawHeaders[i + 1] as string]);
  return endToEnd(pairs, drop).slice(0, MAX_HEADERS);
}

/** The options of the local HTTP request for a head (no `signal`: the stream aborts it explicitly). */
export function localRequestOptions(target: ForwardTarget, head: RequestHead, agent: RequestOptions['agent']): RequestOptions {
  return {
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port,
    method: head.method,
    path: localPath(target, head),
    headers: localRequestHeaders(target, head),
    agent,
  };
}
