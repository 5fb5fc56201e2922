/**
 * The world of the tunnel's end-to-end tests: a local Gatehouse with short tunnel timings, a real local origin
 * (node:http plus a `ws` echo server) behind the device, devices enrolled by the real agent CLI (admin OTP, EST), and a
 * user signed in through the hosted pages who claims and authorizes them.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { WebSocketServer } from 'ws';
import { importPrivateKeyPem } from '../../../agent/csr.ts';
import { createDeviceJwt, x5cFor } from '../../../agent/device-jwt.ts';
import { loadState } from '../../../agent/state.ts';
import { startLocalServer, type LocalServer } from '../../../scripts/lib/local-server.ts';
import { ROOT, seedFixtures, type E2eFixtures } from '../fixtures.ts';
import { browserLogin } from './browser-login.ts';

/** Tunnel timings of the test server: a 3 s response-head timeout, 2 s heartbeats, dead after 6 s of silence. */
export const TUNNEL_TEST_VARS = { TUNNEL_RESPONSE_TIMEOUT_SECONDS: '3', TUNNEL_PING_INTERVAL_SECONDS: '2', TUNNEL_PING_TIMEOUT_SECONDS: '2', TUNNEL_DEAD_AFTER_SECONDS: '6' };

/** Starts the test server, seeded with the shared fixtures. */
export async function startTunnelServer(): Promise<{ server: LocalServer; fx: E2eFixtures }> {
  let fx: E2eFixtures | undefined;
  const server = await startLocalServer({ root: ROOT, vars: { ...TUNNEL_TEST_VARS, LOGIN_MAX_FAILURES: '50' }, prepare: async (ctx) => void (fx = await seedFixtures(ctx)) });
  return { server, fx: fx as E2eFixtures };
}

/** A repeatable pseudo-random byte pattern (fast to make, no runs that a compressor or a bug could hide in). */
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

/** What the origin saw, for assertions. */
export type OriginLog = { uploads: { bytes: number; sha256: string }[]; aborted: string[]; sseFinishedAt: number[] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the device's local service: downloads, uploads, SSE, an endless stream, a hang, and a WebSocket echo. */
export async function startOrigin(): Promise<{ url: string; log: OriginLog; close: () => Promise<void> }> {
  const log: OriginLog = { uploads: [], aborted: [], sseFinishedAt: [] };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://origin');
    res.on('close', () => !res.writableFinished && log.aborted.push(url.pathname));
    switch (url.pathname) {
      case '/hello':
        return res.writeHead(200, { 'content-type': 'text/plain', 'x-origin': 'yes' }).end(`hello ${req.method} ${url.search}`);
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
        const digest = hash.digest('hex');
        log.uploads.push({ bytes, sha256: digest });
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes, sha256: digest }));
      }
      case '/sse': {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        for (let i = 1; i <= 5; i++) {
          res.write(`id: ${i}\ndata: event ${i} at ${Date.now()}\n\n`);
          await sleep(300);
        }
        log.sseFinishedAt.push(Date.now());
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
  const server: Server = createServer((req, res) => void handle(req, res));
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
export async function enrolDevice(server: LocalServer): Promise<E2eDevice> {
  const res = await fetch(`${server.url}/admin/api/otp`, { method: 'POST', headers: { Authorization: `PROV-ADMIN ${server.secrets.PROV_ADMIN_API_KEY}`, 'Content-Type': 'application/json' }, body: '{}' });
  const { otp } = (await res.json()) as { otp: string };
  const stateDir = path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-tunnel-e2e-')), 'state');
  await promisify(execFile)(process.execPath, ['agent/cli.ts', 'enroll', '--url', server.url, '--otp', otp, '--state-dir', stateDir], { cwd: ROOT });
  const state = loadState(stateDir);
  const privateKey = await importPrivateKeyPem(state.keyPem);
  const x5c = x5cFor(state.certPem, state.chainPem);
  return { deviceId: state.deviceId, stateDir, jwt: () => createDeviceJwt({ privateKey, x5c, deviceId: state.deviceId, audience: `${server.url}/devices/connect` }) };
}

/** Signs the fixtures user in through the hosted pages (code flow) and returns an access token. */
export async function userAccessToken(server: LocalServer, fx: E2eFixtures): Promise<string> {
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
export const api = (server: LocalServer, token: string, pathname: string, init: RequestInit = {}) =>
  fetch(`${server.url}${pathname}`, { ...init, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
