/**
 * The world of the tunnel's end-to-end tests: the shared local Gatehouse of the e2e project (test/e2e/global-setup.ts
 * starts it with TUNNEL_TEST_VARS), a real local origin behind the device (node:http plus a `ws` echo server), devices
 * enrolled by the real agent CLI (admin OTP, EST), the real agent (`gatehouse-agent connect` as a child process, or
 * `startTunnelAgent` in-process), and the fixtures user, signed in through the hosted pages, who claims and authorizes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { WebSocketServer } from 'ws';
import { importPrivateKeyPem } from '../../../agent/csr.ts';
import { createDeviceJwt, x5cFor } from '../../../agent/device-jwt.ts';
import { loadState } from '../../../agent/state.ts';
import { ROOT, type E2eFixtures } from '../fixtures.ts';
import { browserLogin } from './browser-login.ts';

export { TUNNEL_TEST_VARS } from './tunnel-vars.ts';

/** The shared e2e server. */
export type E2eServer = { url: string; secrets: Record<string, string>; fixtures: E2eFixtures };

/** The server the global setup started. */
export const e2eServer = (): E2eServer => ({ url: inject('baseUrl'), secrets: inject('secrets'), fixtures: inject('fixtures') });

/** A repeatable pseudo-random byte pattern (xorshift: fast to make, and no runs a compressor or a bug could hide in). */
export function pattern(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** SHA-256 of bytes, hex. */
export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value; fails naming `what` after `timeoutMs`. */
export async function until<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs: number, what: string | (() => string)): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(25);
  }
}

/** What the origin saw, for assertions. */
export type OriginLog = {
  /** Requests whose connection closed before their response finished (a cancellation reached the origin), with when. */
  aborted: { path: string; at: number }[];
  /** When each SSE event was written (event id → ms). */
  sseSentAt: Map<number, number>;
  /** The most requests in flight at once. */
  maxInFlight: number;
};

/** A running origin. */
export type Origin = Awaited<ReturnType<typeof startOrigin>>;

/**
 * Starts the device's local service:
 * - `/hello` (method and query), `/bytes?n=&seed=` (a pattern), `/upload` (SHA-256 of the body), `/echo` (streams the body back);
 * - `/barrier?n=`: holds every request until n of them are in flight at once, then answers them all (503 after 20 s);
 * - `/sse?n=`: event i+1 is written only after the test said it received event i (`origin.sseReceived(i)`), or after 5 s;
 * - `/endless` (until the client goes away), `/hang` (never answers);
 * - `/ws`: a WebSocket echo (`echo` subprotocol; the text "close please" closes with 4001).
 */
export async function startOrigin() {
  const log: OriginLog = { aborted: [], sseSentAt: new Map(), maxInFlight: 0 };
  const barrier: { waiting: (() => void)[] } = { waiting: [] };
  const sseAcks = new Map<number, () => void>();
  let inFlight = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://origin');
    inFlight++;
    log.maxInFlight = Math.max(log.maxInFlight, inFlight);
    res.on('close', () => {
      inFlight--;
      if (!res.writableFinished) log.aborted.push({ path: url.pathname, at: Date.now() });
    });
    switch (url.pathname) {
      case '/hello':
        return res.writeHead(200, { 'content-type': 'text/plain', 'x-origin': 'yes', 'x-seen-trace': req.headers['x-trace'] ?? '' }).end(`hello ${req.method} ${url.search}`);
      case '/bytes': {
        const n = Number(url.searchParams.get('n') ?? 1024);
        return res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(pattern(n, Number(url.searchParams.get('seed') ?? 1)));
      }
      case '/upload': {
        const hash = createHash('sha256');
        let bytes = 0;
        for await (const chunk of req as AsyncIterable<Buffer>) {
          hash.update(chunk);
          bytes += chunk.byteLength;
        }
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes, sha256: hash.digest('hex') }));
      }
      case '/echo':
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return void req.pipe(res);
      case '/barrier': {
        const n = Number(url.searchParams.get('n') ?? 2);
        const released = new Promise<boolean>((resolve) => {
          barrier.waiting.push(() => resolve(true));
          setTimeout(() => resolve(false), 20_000);
        });
        if (barrier.waiting.length >= n) for (const go of barrier.waiting.splice(0)) go();
        const ok = await released;
        return res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? `released ${url.searchParams.get('i')}` : 'barrier timeout');
      }
      case '/sse': {
        const n = Number(url.searchParams.get('n') ?? 3);
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        for (let i = 1; i <= n && !res.destroyed; i++) {
          const acked = new Promise<void>((resolve) => {
            sseAcks.set(i, resolve);
            setTimeout(resolve, 5000);
          });
          log.sseSentAt.set(i, Date.now());
          res.write(`id: ${i}\ndata: event ${i}\n\n`);
          if (i < n) await acked;
        }
        return res.end();
      }
      case '/endless': {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = pattern(16 * 1024);
        while (!res.destroyed) {
          if (!res.write(chunk)) await new Promise((r) => res.once('drain', r).once('close', r));
          await sleep(5);
        }
        return;
      }
      case '/hang':
        return; // never answers
      default:
        return res.writeHead(404).end('no such page');
    }
  };
  // A request the agent aborted (a cancelled or timed-out stream) rejects mid-body: that is expected, not a test failure.
  const server: Server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  const wss = new WebSocketServer({ server, path: '/ws', handleProtocols: (protocols) => (protocols.has('echo') ? 'echo' : false) });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      const text = isBinary ? undefined : data.toString();
      if (text === 'close please') return socket.close(4001, 'as asked');
      socket.send(isBinary ? data : `echo: ${text}`, { binary: isBinary });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    /** The test received SSE event `id`: the origin may write the next one. */
    sseReceived: (id: number) => sseAcks.get(id)?.(),
    close: async () => {
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A device enrolled by the real agent CLI; `jwt()` signs a fresh device JWT for `/devices/connect`. */
export type E2eDevice = { deviceId: string; stateDir: string; jwt: () => Promise<string> };

/** Enrols a new device: an admin OTP, then `gatehouse-agent enroll` into a fresh state directory. */
export async function enrolDevice(server: E2eServer): Promise<E2eDevice> {
  const res = await fetch(`${server.url}/admin/api/otp`, { method: 'POST', headers: { Authorization: `PROV-ADMIN ${server.secrets.PROV_ADMIN_API_KEY}`, 'Content-Type': 'application/json' }, body: '{}' });
  if (!res.ok) throw new Error(`OTP failed: ${res.status} ${await res.text()}`);
  const { otp } = (await res.json()) as { otp: string };
  const stateDir = path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-tunnel-e2e-')), 'state');
  await promisify(execFile)(process.execPath, ['agent/cli.ts', 'enroll', '--url', server.url, '--otp', otp, '--state-dir', stateDir], { cwd: ROOT });
  const state = loadState(stateDir);
  const privateKey = await importPrivateKeyPem(state.keyPem);
  const x5c = x5cFor(state.certPem, state.chainPem);
  return { deviceId: state.deviceId, stateDir, jwt: () => createDeviceJwt({ privateKey, x5c, deviceId: state.deviceId, audience: `${server.url}/devices/connect` }) };
}

/** Revokes all of a device's certificates through the admin API. */
export async function revokeDevice(server: E2eServer, deviceId: string): Promise<void> {
  const res = await fetch(`${server.url}/admin/api/devices/${deviceId}/revoke`, {
    method: 'POST',
    headers: { Authorization: `PROV-ADMIN ${server.secrets.PROV_ADMIN_API_KEY}`, 'Content-Type': 'application/json' },
    body: '{"reason":"keyCompromise"}',
  });
  if (res.status !== 200) throw new Error(`revocation failed: ${res.status} ${await res.text()}`);
}

/** Signs the fixtures user in through the hosted pages (code flow) and returns an access token. */
export async function userAccessToken(server: E2eServer): Promise<string> {
  const fx = server.fixtures;
  const url = new URL(`${server.url}/oauth2/authorize`);
  url.search = new URLSearchParams({ response_type: 'code', client_id: fx.confidentialClient.clientId, redirect_uri: fx.redirectUri, scope: 'openid email', state: 'st' }).toString();
  const callback = await browserLogin(url.href, fx.user);
  const res = await fetch(`${server.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${btoa(`${fx.confidentialClient.clientId}:${fx.confidentialClient.clientSecret}`)}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code') ?? '', redirect_uri: fx.redirectUri }),
  });
  if (res.status !== 200) throw new Error(`token exchange failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Calls the Client API as the user. */
export const api = (server: E2eServer, token: string, pathname: string, init: RequestInit = {}) =>
  fetch(`${server.url}${pathname}`, { ...init, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });

/** Claims a device with the code it printed, then asks the Authorizer for a device-access token; returns that token. */
export async function claimAndAuthorize(server: E2eServer, user: string, deviceId: string, claimCode: string): Promise<string> {
  const claimed = await api(server, user, '/api/devices/claim', { method: 'POST', body: JSON.stringify({ claimCode }) });
  if (claimed.status !== 200) throw new Error(`claim failed: ${claimed.status} ${await claimed.text()}`);
  const view = (await claimed.json()) as { id: string; role: string };
  if (view.id !== deviceId || view.role !== 'owner') throw new Error(`claimed the wrong device: ${JSON.stringify(view)}`);
  const authorized = await api(server, user, `/api/devices/${deviceId}/authorize`, { method: 'POST' });
  if (authorized.status !== 200) throw new Error(`authorize failed: ${authorized.status} ${await authorized.text()}`);
  return ((await authorized.json()) as { token: string }).token;
}

/** A device's connection as the Client API lists it (from D1, without waking its object). */
export type ConnectionView = { online: boolean; since: string | null; lastSeen: string | null; agentVersion: string | null };

/** `GET /api/devices/:deviceId` → its connection. */
export async function connectionOf(server: E2eServer, user: string, deviceId: string): Promise<ConnectionView> {
  const res = await api(server, user, `/api/devices/${deviceId}`);
  if (res.status !== 200) throw new Error(`device lookup failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { connection: ConnectionView }).connection;
}

/** A `gatehouse-agent connect` child process. */
export type AgentProcess = ReturnType<typeof spawnAgent>;

/** Starts `gatehouse-agent connect` with `args`; `lines` fills as it prints, `exit` resolves with its exit code. */
export function spawnAgent(...args: string[]) {
  const child: ChildProcess = spawn(process.execPath, ['agent/cli.ts', 'connect', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    lines,
    exit,
    stderr: () => stderr,
    /** Waits for a printed line matching `re` (one already printed counts) and returns it. */
    waitFor: (re: RegExp, ms = 15_000) => until(() => lines.find((l) => re.test(l)), ms, () => `a line matching ${re} (got:\n${lines.join('\n')}\n${stderr})`),
    /** Kills the process at once (no drain, no close frame: the TCP connection just drops). */
    kill: () => child.exitCode === null && child.kill('SIGKILL'),
  };
}

/**
 * A TCP relay in front of the server, so a test can cut the agent's link the way a network failure would (both TCP
 * connections destroyed, no close frame) while the agent process and the Worker both stay up.
 */
export async function startRelay(target: string) {
  const { hostname, port } = new URL(target);
  const pairs = new Set<[Socket, Socket]>();
  const relay = createNetServer((inbound) => {
    const outbound = connect(Number(port), hostname);
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
    /** How many connections pass through now. */
    open: () => pairs.size,
    /** Cuts every connection now (RST on both sides). */
    cut() {
      for (const [a, b] of [...pairs]) {
        a.resetAndDestroy();
        b.resetAndDestroy();
      }
      pairs.clear();
    },
    close: () => new Promise<void>((r) => relay.close(() => r())),
  };
}
