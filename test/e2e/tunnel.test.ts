/**
 * The device proxy end to end: a real local Gatehouse, a device enrolled by the agent CLI and claimed by a user signed in
 * through the hosted pages, a Node tunnel peer (test/e2e/util/tunnel-peer.ts) forwarding to a real local HTTP server,
 * and real clients (fetch, `ws`) on the other side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LocalServer } from '../../scripts/lib/local-server.ts';
import { connectPeer, type TunnelPeer } from './util/tunnel-peer.ts';
import { api, enrolDevice, pattern, sha256, startOrigin, startTunnelServer, userAccessToken, type E2eDevice } from './util/tunnel-setup.ts';

let server: LocalServer;
let origin: Awaited<ReturnType<typeof startOrigin>>;
let device: E2eDevice;
let peer: TunnelPeer;
let token: string;

const proxyUrl = (p: string) => `${server.url}/devices/${device.deviceId}/proxy${p}`;
const proxied = (p: string, init: RequestInit = {}) => fetch(proxyUrl(p), { ...init, headers: { 'X-Device-Access-Token': token, ...(init.headers as Record<string, string> | undefined) } });

beforeAll(async () => {
  const started = await startTunnelServer();
  server = started.server;
  origin = await startOrigin();
  device = await enrolDevice(server);
  peer = await connectPeer({ baseUrl: server.url, jwt: await device.jwt(), forward: origin.url });
  const { code } = await peer.control('claim_code');
  const user = await userAccessToken(server, started.fx);
  const claimed = await api(server, user, '/api/devices/claim', { method: 'POST', body: JSON.stringify({ claimCode: code }) });
  expect(claimed.status).toBe(200);
  await peer.control('claimed');
  const authorized = await api(server, user, `/api/devices/${device.deviceId}/authorize`, { method: 'POST' });
  expect(authorized.status).toBe(200);
  token = ((await authorized.json()) as { token: string }).token;
}, 120_000);

afterAll(async () => {
  peer?.close();
  await origin?.close();
  await server?.stop();
});

describe('the device proxy through a live tunnel', () => {
  it('proxies a GET with its query and headers', async () => {
    const res = await proxied('/hello?x=1&y=%20', { headers: { 'X-Trace': 'abc' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-origin')).toBe('yes');
    expect(await res.text()).toBe('hello GET ?x=1&y=%20');
  });

  it('uploads and downloads 32 MiB byte for byte (SHA-256 compared on both ends)', async () => {
    const body = pattern(32 * 1024 * 1024, 7);
    const up = await proxied('/upload', { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' } });
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ bytes: body.byteLength, sha256: sha256(body) });

    const n = 32 * 1024 * 1024 + 123;
    const down = await proxied(`/bytes?n=${n}&seed=9`);
    expect(down.status).toBe(200);
    const got = new Uint8Array(await down.arrayBuffer());
    expect(got.byteLength).toBe(n);
    expect(sha256(got)).toBe(sha256(pattern(n, 9)));
  });

  it('runs 50 concurrent streams on one device, each answered with its own bytes', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const res = await proxied(`/bytes?n=${200_000 + i}&seed=${i + 1}`);
        return { i, status: res.status, hash: sha256(new Uint8Array(await res.arrayBuffer())) };
      }),
    );
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.hash).toBe(sha256(pattern(200_000 + r.i, r.i + 1)));
    }
    expect(peer.maxConcurrent()).toBeGreaterThan(10);
  });

  it('delivers server-sent events one by one, before the origin has finished', async () => {
    const started = Date.now();
    const res = await proxied('/sse', { headers: { Accept: 'text/event-stream' } });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const arrivals: { id: number; at: number }[] = [];
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const id = Number(/^id: (\d+)/m.exec(buffer.slice(0, end))?.[1]);
        arrivals.push({ id, at: Date.now() });
        buffer = buffer.slice(end + 2);
      }
    }
    expect(arrivals.map((a) => a.id)).toEqual([1, 2, 3, 4, 5]);
    const finished = origin.log.sseFinishedAt.at(-1) ?? 0;
    // The first event arrived more than a second before the origin wrote the last one: nothing buffered the stream.
    expect(finished - (arrivals[0]?.at ?? Infinity)).toBeGreaterThan(1000);
    expect((arrivals[1]?.at ?? 0) - (arrivals[0]?.at ?? 0)).toBeGreaterThan(150);
    expect((arrivals[0]?.at ?? Infinity) - started).toBeLessThan(1000);
  });

  it('propagates a client cancellation to the agent (RESET CANCEL) and the origin (request aborted)', async () => {
    const controller = new AbortController();
    const res = await proxied('/endless', { signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let received = 0;
    while (received < 256 * 1024) received += (await reader.read()).value?.byteLength ?? 0;
    const resetsBefore = peer.resets.length;
    controller.abort();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !origin.log.aborted.includes('/endless')) await new Promise((r) => setTimeout(r, 20));
    expect(origin.log.aborted).toContain('/endless');
    expect(peer.resets.slice(resetsBefore).map((r) => r.code)).toContain(8);
  });

  it('relays a WebSocket to the device and back (echo, binary, close code)', async () => {
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
    const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    client.send('close please');
    expect(await closed).toBe(4001);
  });

  it('answers 504 when the local service never answers (TUNNEL_RESPONSE_TIMEOUT_SECONDS=3)', async () => {
    const started = Date.now();
    const res = await proxied('/hang');
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    expect(Date.now() - started).toBeLessThan(6000);
  });

  it('refuses a viewer-less caller: no token 401, a token for another device 401', async () => {
    expect((await fetch(proxyUrl('/hello'))).status).toBe(401);
    const other = await fetch(`${server.url}/devices/00000000-0000-4000-8000-000000000000/proxy/hello`, { headers: { 'X-Device-Access-Token': token } });
    expect(other.status).toBe(401);
    expect(other.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
  });
});
