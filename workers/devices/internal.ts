import { z } from 'zod';
import { requestHeadSchema, type RequestHead } from '../../lib/tunnel/index.ts';

/**
 * How the Worker talks to a DeviceTunnel object. A Durable Object is reachable only through its namespace binding,
 * never from the Internet, so the object trusts what these internal requests carry: the Worker authenticated the
 * device (or the user) and puts the verified facts in one JSON header, built fresh (no client header passes through).
 */

/** The internal origin of requests to the object; only the path means anything. */
export const TUNNEL_ORIGIN = 'https://device-tunnel.internal';

/** The header with the verified device identity on `/connect`. */
export const IDENTITY_HEADER = 'x-gatehouse-tunnel-identity';

/** The header with the request head to forward on `/proxy`. */
export const PROXY_HEAD_HEADER = 'x-gatehouse-proxy-head';

/** What the Worker verified about a connecting device. */
export const connectIdentitySchema = z.object({
  deviceId: z.string().min(1).max(64),
  method: z.enum(['jwt', 'mtls']),
  certificateSerial: z.string().min(1).max(128),
  /** SHA-256 of the certificate (hex), to bind the device token to it. */
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  remoteAddr: z.string().max(64).nullable(),
});

/** A verified device identity. */
export type ConnectIdentity = z.infer<typeof connectIdentitySchema>;

/** The DO stub of a device's tunnel (the object named by the device id). */
export const tunnelOf = (env: Env, deviceId: string) => env.DEVICE_TUNNEL.get(env.DEVICE_TUNNEL.idFromName(deviceId));

/** The internal upgrade request that hands an authenticated device's WebSocket to its object. */
export function connectRequest(identity: ConnectIdentity): Request {
  return new Request(`${TUNNEL_ORIGIN}/connect`, { headers: { Upgrade: 'websocket', [IDENTITY_HEADER]: JSON.stringify(identity) } });
}

/** The internal request that asks the object to proxy one request to its device; `body` streams through. */
export function proxyRequest(head: RequestHead, body: ReadableStream<Uint8Array> | null): Request {
  const headers = new Headers({ [PROXY_HEAD_HEADER]: JSON.stringify(head) });
  if (head.websocket) headers.set('Upgrade', 'websocket');
  return new Request(`${TUNNEL_ORIGIN}/proxy`, body ? { method: 'POST', headers, body } : { method: 'GET', headers });
}

/** Reads a JSON header against a schema; undefined when it is absent or does not match. */
export function readJsonHeader<T>(request: Request, name: string, schema: z.ZodType<T>): T | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(request.headers.get(name) ?? '');
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** The request head of an internal proxy request. */
export const proxyHeadOf = (request: Request): RequestHead | undefined => readJsonHeader(request, PROXY_HEAD_HEADER, requestHeadSchema);
