/**
 * The device proxy end to end: the shared local Gatehouse (wrangler dev), a device enrolled by the agent CLI, the real
 * agent (`gatehouse-agent connect --json`, a child process) forwarding to a real local HTTP server, a user signed in
 * through the hosted pages who claims the device with the code the agent printed and asks the Authorizer for a
 * device-access token, and real clients (fetch, `ws`) on the proxy side.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AGENT_VERSION } from '../../agent/tunnel/version.ts';
import {
  claimAndAuthorize, connectionOf, e2eServer, enrolDevice, pattern, sha256, sleep, spawnAgent, startOrigin, until, userAccessToken,
  type AgentProcess, type E2eDevice, type E2eServer, type Origin,
} from './util/tunnel-setup.ts';

let server: E2eServer;
let origin: Origin;
let device: E2eDevice;
let agent: AgentProcess;
let user: string;
let token: string;

type LogLine = { event: string; level: string; [field: string]: unknown };
const events = (): LogLine[] => agent.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
/** The agent's log line for the proxied request to `p` (waits for it: the line is written when the stream is done). */
const requestLog = (p: string, ms = 10_000) => until(() => events().filter((e) => e.event === 'request' && e.path === p).at(-1), ms, `the agent's log line for ${p}`);

const proxyUrl = (p: string) => `${server.url}/devices/${device.deviceId}/proxy${p}`;
const proxied = (p: string, init: RequestInit = {}) => fetch(proxyUrl(p), { ...init, headers: { 'X-Device-Access-Token': token, ...(init.headers as Record<string, string> | undefined) } });

beforeAll(async () => {
  server = e2eServer();
  origin = await startOrigin();
  device = await enrolDevice(server);
  agent = spawnAgent('--forward', origin.url, '--state-dir', device.stateDir, '--json');
  await agent.waitFor(/"event":"claim_code"/);
  const claim = events().find((e) => e.event === 'claim_code') as LogLine & { code: string; expiresAt: number };
  // The agent printed the code and stored it in its state directory (with its expiry) for a UI to show.
  const stored = readFileSync(path.join(device.stateDir, 'claim_code'), 'utf8').split('\n');
  expect(stored[0]).toBe(claim.code);
  expect(new Date(stored[1] ?? '').getTime()).toBe(claim.expiresAt * 1000);
  user = await userAccessToken(server);
  token = await claimAndAuthorize(server, user, device.deviceId, claim.code);
  await agent.waitFor(/"event":"claimed"/);
  expect(existsSync(path.join(device.stateDir, 'claim_code'))).toBe(false);
}, 120_000);

afterAll(async () => {
  if (agent && agent.child.exitCode === null) {
    agent.child.kill('SIGTERM');
    await agent.exit;
  }
  await origin?.close();
});

describe('a device connected with the real agent', () => {
  it('is listed online by the Client API with its agent version, and the agent holds a device token', async () => {
    const connection = await until(async () => {
      const c = await connectionOf(server, user, device.deviceId);
      return c.agentVersion ? c : undefined;
    }, 10_000, 'the agent version in D1');
    expect(connection).toMatchObject({ online: true, agentVersion: AGENT_VERSION });
    expect(Date.parse(connection.since ?? '')).toBeGreaterThan(Date.now() - 120_000);
    expect(Date.parse(connection.lastSeen ?? '')).toBeGreaterThanOrEqual(Date.parse(connection.since ?? ''));
    const stored = JSON.parse(readFileSync(path.join(device.stateDir, 'device_token'), 'utf8')) as { token: string; expiresAt: number };
    expect(stored.token.split('.')).toHaveLength(3);
    expect(stored.expiresAt).toBeGreaterThan(Date.now() / 1000 + 600);
    expect(agent.lines.join('\n')).not.toContain(stored.token);
  });
});

describe('the device proxy through the real agent', () => {
  it('proxies a GET with its query and headers, and the agent logs it (method, path, status, bytes, duration)', async () => {
    const res = await proxied('/hello?x=1&y=%20', { headers: { 'X-Trace': 'abc' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-origin')).toBe('yes');
    expect(res.headers.get('x-seen-trace')).toBe('abc');
    expect(await res.text()).toBe('hello GET ?x=1&y=%20');
    const line = await requestLog('/hello');
    expect(line).toMatchObject({ level: 'info', method: 'GET', status: 200, bytesIn: 0, bytesOut: 'hello GET ?x=1&y=%20'.length, outcome: 'ok', websocket: false });
    expect(line.durationMs).toEqual(expect.any(Number));
  });

  it('streams a 16 MiB binary POST body to the device and the same bytes back, byte for byte', async () => {
    const body = pattern(16 * 1024 * 1024, 7);
    const res = await proxied('/echo', { method: 'POST', body: new Uint8Array(body), headers: { 'Content-Type': 'application/octet-stream' } });
    expect(res.status).toBe(200);
    const got = new Uint8Array(await res.arrayBuffer());
    expect(got.byteLength).toBe(body.byteLength);
    expect(sha256(got)).toBe(sha256(body));
    expect(await requestLog('/echo')).toMatchObject({ method: 'POST', status: 200, bytesIn: body.byteLength, bytesOut: body.byteLength, outcome: 'ok' });
  }, 60_000);

  it('uploads and downloads 24 MiB separately (SHA-256 compared at the origin and at the client)', async () => {
    const body = pattern(24 * 1024 * 1024, 11);
    const up = await proxied('/upload', { method: 'PUT', body: new Uint8Array(body) });
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ bytes: body.byteLength, sha256: sha256(body) });
    const n = 24 * 1024 * 1024 + 123;
    const down = await proxied(`/bytes?n=${n}&seed=9`);
    expect(down.status).toBe(200);
    const got = new Uint8Array(await down.arrayBuffer());
    expect(got.byteLength).toBe(n);
    expect(sha256(got)).toBe(sha256(pattern(n, 9)));
  }, 60_000);

  it('runs 50 concurrent streams on the one device connection (the origin holds all 50 open at once)', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const res = await proxied(`/barrier?n=50&i=${i}`);
        return { i, status: res.status, text: await res.text() };
      }),
    );
    for (const r of results) expect(r).toEqual({ i: r.i, status: 200, text: `released ${r.i}` });
    expect(origin.log.maxInFlight).toBeGreaterThanOrEqual(50);
    expect(events().filter((e) => e.event === 'connected')).toHaveLength(1);
  }, 60_000);

  it('delivers server-sent events as they are sent: each arrives before the origin writes the next', async () => {
    const res = await proxied('/sse?n=3', { headers: { Accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const arrivedAt = new Map<number, number>();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const id = Number(/^id: (\d+)/m.exec(buffer.slice(0, end))?.[1]);
        arrivedAt.set(id, Date.now());
        buffer = buffer.slice(end + 2);
        // The origin writes event id+1 only now (or after 5 s if this never came): a buffering tunnel fails below.
        origin.sseReceived(id);
      }
    }
    expect([...arrivedAt.keys()]).toEqual([1, 2, 3]);
    for (const id of [1, 2]) expect(arrivedAt.get(id)).toBeLessThanOrEqual(origin.log.sseSentAt.get(id + 1) ?? 0);
    expect((origin.log.sseSentAt.get(3) ?? Infinity) - (origin.log.sseSentAt.get(1) ?? 0)).toBeLessThan(4000);
  }, 30_000);

  it('propagates a client cancellation through the tunnel: the local request is aborted', async () => {
    const controller = new AbortController();
    const res = await proxied('/endless', { signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let received = 0;
    while (received < 256 * 1024) received += (await reader.read()).value?.byteLength ?? 0;
    const abortedAt = Date.now();
    controller.abort();
    const aborted = await until(() => origin.log.aborted.find((a) => a.path === '/endless'), 5000, 'the origin to see /endless aborted');
    expect(aborted.at - abortedAt).toBeLessThan(3000);
    expect(await requestLog('/endless')).toMatchObject({ status: 200, outcome: 'cancelled', resetCode: 8 });
  }, 30_000);

  it('relays a WebSocket to the device and back (subprotocol, text, 300 kB binary, close code)', async () => {
    const client = new WebSocket(proxyUrl('/ws').replace(/^http/, 'ws'), 'echo', { headers: { 'X-Device-Access-Token': token } });
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    expect(client.protocol).toBe('echo');
    const next = () => new Promise<{ data: Buffer; binary: boolean }>((resolve) => client.once('message', (data: Buffer, binary: boolean) => resolve({ data, binary })));
    let reply = next();
    client.send('hi there');
    expect((await reply).data.toString()).toBe('echo: hi there');
    const big = pattern(300_000, 3);
    reply = next();
    client.send(big);
    const echoed = await reply;
    expect(echoed.binary).toBe(true);
    expect(sha256(echoed.data)).toBe(sha256(big));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => client.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    client.send('close please');
    expect(await closed).toEqual({ code: 4001, reason: 'as asked' });
    expect(await requestLog('/ws')).toMatchObject({ method: 'GET', status: 101, websocket: true });
  }, 30_000);

  it('answers 504 when the local service never answers (TUNNEL_RESPONSE_TIMEOUT_SECONDS=3), and the agent aborts it', async () => {
    const started = Date.now();
    const res = await proxied('/hang');
    const took = Date.now() - started;
    expect(res.status).toBe(504);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { detail: string }).detail).toBe('The device did not answer within 3 s.');
    expect(took).toBeGreaterThanOrEqual(2900);
    expect(took).toBeLessThan(8000);
    await until(() => origin.log.aborted.find((a) => a.path === '/hang'), 5000, 'the origin to see /hang aborted');
    expect(await requestLog('/hang')).toMatchObject({ status: 0, outcome: 'failed', resetCode: 4 });
  }, 30_000);

  it('refuses callers without the device-access token (401) before anything reaches the device', async () => {
    const before = events().filter((e) => e.event === 'request').length;
    const none = await fetch(proxyUrl('/hello'));
    expect(none.status).toBe(401);
    const user401 = await fetch(proxyUrl('/hello'), { headers: { Authorization: `Bearer ${user}` } });
    expect(user401.status).toBe(401);
    const other = await fetch(`${server.url}/devices/00000000-0000-4000-8000-000000000000/proxy/hello`, { headers: { 'X-Device-Access-Token': token } });
    expect(other.status).toBe(401);
    expect(other.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    await sleep(200);
    expect(events().filter((e) => e.event === 'request')).toHaveLength(before);
  });
});
