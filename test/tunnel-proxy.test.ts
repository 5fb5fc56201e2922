import { runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex, utf8 } from '../lib/encoding.ts';
import { ErrorCode, type DecodedFrame } from '../lib/tunnel/index.ts';
import { connectionOf, liveSocket, tunnelContext, type Tunnel } from '../durable-objects/tunnel/lifecycle.ts';
import { proxyThroughTunnel } from '../durable-objects/tunnel/proxy-stream.ts';
import { seedDevice } from './api.test-fixture.ts';
import { call, expectBearerError, expectProblem, signIn } from './gateway.test-fixture.ts';
import { BASE, accessToken, connectAgent, enrolDevice, eventually } from './tunnel.test-fixture.ts';

type Open = Extract<DecodedFrame, { type: 'open' }>;
const isOpen = (f: DecodedFrame): f is Open => f.type === 'open';
const resetOf = (id: number) => (f: DecodedFrame): f is Extract<DecodedFrame, { type: 'reset' }> => f.type === 'reset' && f.streamId === id;
const proxy = (deviceId: string, path: string, init: RequestInit = {}) => exports.default.fetch(`${BASE}/devices/${deviceId}/proxy${path}`, init);
const bearer = (token: string, headers: Record<string, string> = {}) => ({ headers: { Authorization: `Bearer ${token}`, ...headers } });
const pattern = (n: number, seed = 7) => new Uint8Array(n).map((_, i) => (i * seed + (i >> 8)) & 0xff) as Uint8Array<ArrayBuffer>;

describe('ANY /devices/:deviceId/proxy/*: authorization', () => {
  it('needs the Authorizer token for this device (401) with operator or above (403)', async () => {
    const device = await enrolDevice();
    await expectBearerError(await proxy(device.deviceId, '/x'), 401, 'invalid_token');
    await expectBearerError(await proxy(device.deviceId, '/x', { headers: { Authorization: 'Basic Zm9vOmJhcg==' } }), 400, 'invalid_request');
    await expectBearerError(await proxy(device.deviceId, '/x', bearer('garbage')), 401, 'invalid_token');
    await expectBearerError(await proxy(device.deviceId, '/x', bearer(await accessToken(crypto.randomUUID()))), 401, 'invalid_token');
    await expectBearerError(await proxy(device.deviceId, '/x', bearer(await accessToken(device.deviceId, 'viewer'))), 403, 'insufficient_scope');
  });

  it('answers 503 at once for an offline device, with a token from the real Authorizer', async () => {
    const me = await signIn();
    const d = await seedDevice({ members: [[me.user.id, 'operator']] });
    const res = await call(`/api/devices/${d.id}/authorize`, me.access, { method: 'POST' });
    const { token } = (await res.json()) as { token: string };
    const started = Date.now();
    const offline = await proxy(d.id, '/status', { headers: { 'X-Device-Access-Token': token } });
    expect(Date.now() - started).toBeLessThan(1000);
    const problem = await expectProblem(offline, 503);
    expect(problem.detail).toBe('The device is offline.');
    expect(offline.headers.get('retry-after')).toBe('5');
  });
});

describe('proxying through a connected agent', () => {
  it('batches frames both ways once both sides announce it: one message per direction for a small GET, answered intact', async () => {
    const device = await enrolDevice();
    const body = pattern(3000);
    const agent = await connectAgent(device, { settings: { batchFrames: true }, answer: () => ({ status: 200, headers: [['content-type', 'application/octet-stream']], body }) });
    const config = await agent.control('config');
    expect(config.settings?.batchFrames).toBe(true);
    await agent.control('device_token');
    const before = agent.messageSizes.length;
    const res = await proxy(device.deviceId, '/small', bearer(await accessToken(device.deviceId)));
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(body);
    // The cloud's OPEN (noBody) and END left in one message; the test agent's RESPONSE, DATA and END in one too.
    expect(agent.messageSizes.slice(before)).toEqual([2]);
    const open = await agent.next(isOpen);
    expect(open.head.noBody).toBe(true);
  });

  it('sends one frame per message to an agent that did not announce batches', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device, { answer: () => ({ status: 204 }) });
    expect((await agent.control('config')).settings?.batchFrames).toBe(true);
    await agent.control('device_token');
    const res = await proxy(device.deviceId, '/plain', bearer(await accessToken(device.deviceId)));
    expect(res.status).toBe(204);
    expect(agent.frames.filter((f) => f.type === 'open' || f.type === 'end')).toHaveLength(2);
    expect(agent.messageSizes.every((n) => n === 1)).toBe(true);
  });

  it('forwards method, path, query and end-to-end headers, without the platform credential or hop-by-hop fields', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device, {
      answer: () => ({ status: 201, headers: [['content-type', 'text/plain'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['connection', 'close']], body: utf8('made') }),
    });
    await agent.control('device_token');
    const token = await accessToken(device.deviceId);
    const res = await proxy(device.deviceId, '/api/items/%C3%A9?limit=10&q=a%20b', {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Custom': 'yes', Connection: 'keep-alive, x-hop', 'X-Hop': 'drop me', TE: 'trailers', 'CF-Connecting-IP': '203.0.113.9' },
      body: '{"a":1}',
    });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('made');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(res.headers.get('connection')).toBeNull();
    const open = await agent.next(isOpen);
    expect(open.head.method).toBe('PUT');
    // A request with a body is not announced as bodiless.
    expect(open.head.noBody).toBeUndefined();
    expect(open.head.path).toBe('/api/items/%C3%A9?limit=10&q=a%20b');
    const names = open.head.headers.map(([n]) => n);
    expect(names).toContain('x-custom');
    expect(names).not.toContain('authorization');
    for (const hop of ['connection', 'x-hop', 'te', 'host', 'cf-connecting-ip']) expect(names).not.toContain(hop);
    expect(open.head.headers).toContainEqual(['x-forwarded-for', '203.0.113.9']);
    agent.close();
  });

  it('leaves Authorization to the device when the token comes in X-Device-Access-Token; / when nothing follows /proxy', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device, { answer: () => ({ status: 204 }) });
    const res = await proxy(device.deviceId, '', { headers: { 'X-Device-Access-Token': await accessToken(device.deviceId, 'owner'), Authorization: 'Basic ZGV2aWNlOnNlY3JldA==' } });
    expect(res.status).toBe(204);
    const open = await agent.next(isOpen);
    expect(open.head.path).toBe('/');
    // A GET without a body says so, so the agent can start it before the END that follows.
    expect(open.head.noBody).toBe(true);
    expect(open.head.headers).toContainEqual(['authorization', 'Basic ZGV2aWNlOnNlY3JldA==']);
    expect(open.head.headers.map(([n]) => n)).not.toContain('x-device-access-token');
    agent.close();
  });

  it('streams 3 MiB both ways byte for byte under flow control (the agent grants credit as it drains)', async () => {
    const device = await enrolDevice();
    const upload = pattern(3 * 1024 * 1024);
    const download = pattern(3 * 1024 * 1024 + 17, 13);
    let received: Uint8Array | undefined;
    const agent = await connectAgent(device, {
      answer: (req) => {
        received = req.body;
        return { status: 200, headers: [['content-type', 'application/octet-stream']], body: download };
      },
    });
    const res = await proxy(device.deviceId, '/upload', { method: 'POST', ...bearer(await accessToken(device.deviceId)), body: upload });
    expect(res.status).toBe(200);
    const got = new Uint8Array(await res.arrayBuffer());
    expect(got.byteLength).toBe(download.byteLength);
    expect(await sha256Hex(got)).toBe(await sha256Hex(download));
    expect(await sha256Hex(new Uint8Array(received ?? []))).toBe(await sha256Hex(upload));
    // The cloud never sent a DATA frame above 64 KiB, and it granted credit back as the client read the download.
    const data = agent.frames.filter((f): f is Extract<DecodedFrame, { type: 'data' }> => f.type === 'data');
    expect(data.reduce((n, f) => n + f.data.byteLength, 0)).toBe(upload.byteLength);
    expect(Math.max(...data.map((f) => f.data.byteLength))).toBeLessThanOrEqual(64 * 1024);
    // The upload is read a frame at a time (BYOB), not in the runtime's small chunks: full frames, few of them.
    expect(data.length).toBeLessThanOrEqual(2 * Math.ceil(upload.byteLength / (64 * 1024)));
    expect(agent.frames.filter((f) => f.type === 'window_update').length).toBeGreaterThan(5);
    agent.close();
  });

  it('turns an agent RESET before the head into 502 (503 for REFUSED_STREAM), and a RESET mid-body into a broken body', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device);
    const token = await accessToken(device.deviceId);
    const first = proxy(device.deviceId, '/a', bearer(token));
    const open1 = await agent.next(isOpen);
    agent.send({ type: 'reset', streamId: open1.streamId, code: ErrorCode.UPSTREAM_UNREACHABLE, reason: 'connect ECONNREFUSED' });
    expect((await expectProblem(await first, 502)).detail).toBe('The device could not reach its local service.');

    const second = proxy(device.deviceId, '/b', bearer(token));
    const open2 = await agent.next((f): f is Open => isOpen(f) && f.streamId !== open1.streamId);
    agent.send({ type: 'reset', streamId: open2.streamId, code: ErrorCode.REFUSED_STREAM });
    await expectProblem(await second, 503);

    const third = proxy(device.deviceId, '/c', bearer(token));
    const open3 = await agent.next((f): f is Open => isOpen(f) && f.streamId > open2.streamId);
    agent.send({ type: 'response', streamId: open3.streamId, head: { status: 200, headers: [] } });
    agent.send({ type: 'data', streamId: open3.streamId, data: utf8('partial') });
    const res = await third;
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('partial');
    agent.send({ type: 'reset', streamId: open3.streamId, code: ErrorCode.INTERNAL });
    await expect(reader.read()).rejects.toThrow();
    agent.close();
  });

  it('sends RESET CANCEL to the agent when the client abandons the body, and fails open streams when the agent goes', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device);
    const token = await accessToken(device.deviceId);
    const pending = proxy(device.deviceId, '/stream', bearer(token));
    const open = await agent.next(isOpen);
    agent.send({ type: 'response', streamId: open.streamId, head: { status: 200, headers: [['content-type', 'text/event-stream']] } });
    agent.send({ type: 'data', streamId: open.streamId, data: utf8('data: 1\n\n') });
    const res = await pending;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: 1\n\n');
    await reader.cancel();
    const reset = await agent.next(resetOf(open.streamId));
    expect(reset.code).toBe(ErrorCode.CANCEL);

    const waiting = proxy(device.deviceId, '/slow', bearer(token));
    await agent.next((f): f is Open => isOpen(f) && f.streamId > open.streamId);
    agent.close(1001, 'agent stopping');
    expect((await expectProblem(await waiting, 502)).detail).toBe('The device disconnected.');
  });

  it('answers 504 and resets the stream with TIMEOUT when the agent stays silent', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device);
    await agent.control('device_token');
    const stub = env.DEVICE_TUNNEL.get(env.DEVICE_TUNNEL.idFromName(device.deviceId));
    const res = await runInDurableObject(stub, async (_instance, state) => {
      const t = tunnelContext(state, env);
      const ws = liveSocket(t);
      const conn = ws && connectionOf(t, ws);
      if (!conn) throw new Error('no connection');
      await conn.whenReady(1000);
      const out = await proxyThroughTunnel(conn, { method: 'GET', path: '/never', headers: [] }, null, { headTimeoutMs: 300 });
      return { status: out.status, body: await out.text() };
    });
    expect(res.status).toBe(504);
    expect(res.body).toContain('did not answer within');
    const open = await agent.next(isOpen);
    expect((await agent.next(resetOf(open.streamId))).code).toBe(ErrorCode.TIMEOUT);
    agent.close();
  });

  it('does not time out an upload that keeps flowing: credit from the agent restarts the head timeout', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device, { answer: (req) => ({ status: 200, body: utf8(`got ${req.body.byteLength}`) }) });
    await agent.control('device_token');
    const stub = env.DEVICE_TUNNEL.get(env.DEVICE_TUNNEL.idFromName(device.deviceId));
    const res = await runInDurableObject(stub, async (instance) => {
      // The object's own tunnel context, whose connection the agent's frames are routed to.
      const t = (instance as unknown as { tunnel: Tunnel }).tunnel;
      const ws = liveSocket(t);
      const conn = ws && connectionOf(t, ws);
      if (!conn) throw new Error('no connection');
      await conn.whenReady(1000);
      // 6 × 200 KiB, one every 150 ms: about 900 ms in all, three times the 300 ms timeout, with credit flowing throughout.
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (sent === 6) return c.close();
          await new Promise((r) => setTimeout(r, 150));
          sent++;
          c.enqueue(new Uint8Array(200 * 1024).fill(sent));
        },
      });
      const started = Date.now();
      const out = await proxyThroughTunnel(conn, { method: 'POST', path: '/slow-upload', headers: [] }, body, { headTimeoutMs: 300 });
      return { status: out.status, body: await out.text(), took: Date.now() - started };
    });
    expect(res).toMatchObject({ status: 200, body: `got ${6 * 200 * 1024}` });
    expect(res.took).toBeGreaterThan(600);
    agent.close();
  });

  it('relays a WebSocket: upgrade, text and binary messages both ways, and the close', async () => {
    const device = await enrolDevice();
    const agent = await connectAgent(device);
    const token = await accessToken(device.deviceId);
    const pending = proxy(device.deviceId, '/ws', { headers: { Upgrade: 'websocket', 'X-Device-Access-Token': token, 'Sec-WebSocket-Protocol': 'chat' } });
    const open = await agent.next(isOpen);
    expect(open.head).toMatchObject({ method: 'GET', path: '/ws', websocket: true });
    expect(open.head.headers).toContainEqual(['sec-websocket-protocol', 'chat']);
    agent.send({ type: 'response', streamId: open.streamId, head: { status: 101, headers: [['sec-websocket-protocol', 'chat']] } });
    const res = await pending;
    expect(res.status).toBe(101);
    expect(res.headers.get('sec-websocket-protocol')).toBe('chat');
    const client = res.webSocket as WebSocket;
    client.binaryType = 'arraybuffer';
    client.accept();
    const got: (string | ArrayBuffer)[] = [];
    let closed: number | undefined;
    client.addEventListener('message', (e: MessageEvent) => {
      got.push(e.data as string | ArrayBuffer);
    });
    client.addEventListener('close', (e: CloseEvent) => {
      closed = e.code;
    });

    client.send('hello device');
    const data = await agent.next((f): f is Extract<DecodedFrame, { type: 'data' }> => f.type === 'data' && f.streamId === open.streamId);
    expect(data.text).toBe(true);
    expect(new TextDecoder().decode(data.data)).toBe('hello device');
    agent.send({ type: 'data', streamId: open.streamId, data: utf8('hello '), text: true, more: true });
    agent.send({ type: 'data', streamId: open.streamId, data: utf8('client'), text: true });
    agent.send({ type: 'data', streamId: open.streamId, data: new Uint8Array([1, 2, 3]) });
    await eventually(async () => got.length === 2);
    expect(got[0]).toBe('hello client');
    expect(new Uint8Array(got[1] as ArrayBuffer)).toEqual(new Uint8Array([1, 2, 3]));

    agent.send({ type: 'end', streamId: open.streamId, close: { code: 4321, reason: 'done' } });
    await eventually(async () => closed !== undefined);
    expect(closed).toBe(4321);
    agent.close();
  });
});
