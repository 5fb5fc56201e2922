/**
 * Helpers for the agent tunnel tests: a real local HTTP service to forward to, the in-process agent wired to the
 * test cloud peer, and small utilities (hashes, waiting).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTunnelAgent, type TunnelAgent, type TunnelAgentOptions } from '../../agent/tunnel/index.ts';
import type { RequestRecord } from '../../agent/tunnel/link.ts';
import { startCloudPeer, type CloudPeer, type PeerConnection, type PeerOptions } from './agent-tunnel-peer.test-fixture.ts';

/** A local HTTP service on 127.0.0.1. */
export interface LocalService {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

/** Starts a local HTTP service with `handler`. */
export async function startLocalService(handler: RequestListener<typeof IncomingMessage, typeof ServerResponse>): Promise<LocalService> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** SHA-256 of bytes, hex. */
export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** `n` random bytes. */
export const random = (n: number): Buffer => randomBytes(n);

/** Splits bytes into chunks of `size`. */
export function* chunks(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An agent connected to a fresh peer, and what it logged. */
export interface Tunnel {
  readonly peer: CloudPeer;
  readonly agent: TunnelAgent;
  /** The first connection, after the agent's `hello`. */
  readonly conn: PeerConnection;
  readonly requests: RequestRecord[];
  /** Stops the agent (no drain) and the peer. */
  close(): Promise<void>;
}

/** Starts a peer and an in-process agent forwarding to `forward`, and waits for the tunnel to be up. */
export async function startTunnel(
  forward: string,
  opts: { peer?: PeerOptions; agent?: Partial<TunnelAgentOptions> } = {},
): Promise<Tunnel> {
  const peer = await startCloudPeer(opts.peer);
  const first = peer.nextConnection();
  let n = 0;
  const agent = startTunnelAgent({
    url: peer.url,
    forward,
    credential: async () => `header.payload${++n}.signature`,
    deviceId: 'test-device',
    backoff: { baseMs: 50, capMs: 200 },
    ...opts.agent,
  });
  const requests: RequestRecord[] = [];
  agent.events.on('request', (r) => requests.push(r));
  const conn = await first;
  await conn.hello;
  return {
    peer,
    agent,
    conn,
    requests,
    async close() {
      await agent.stop({ deadlineMs: 0 });
      await peer.close();
    },
  };
}
