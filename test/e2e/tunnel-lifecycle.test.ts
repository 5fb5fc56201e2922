/**
 * The life of a device's tunnel end to end, against the shared local Gatehouse with the real agent: a killed agent
 * (the client's stream errors, the device goes offline, the proxy answers 503 at once), a restarted one, a second agent
 * with the same identity taking over, a graceful SIGTERM that finishes an in-flight stream, a cut link that the agent
 * repairs within its backoff, and the credentials the Worker refuses (a revoked certificate, a replayed device JWT).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTunnelAgent, stateCredential, type TunnelAgentEvents } from '../../agent/tunnel/index.ts';
import { CloseCode, TUNNEL_SUBPROTOCOL } from '../../lib/tunnel/index.ts';
import {
  claimAndAuthorize, connectionOf, e2eServer, enrolDevice, revokeDevice, spawnAgent, startOrigin, startRelay, until, userAccessToken,
  type AgentProcess, type E2eDevice, type E2eServer, type Origin,
} from './util/tunnel-setup.ts';

let server: E2eServer;
let origin: Origin;
let device: E2eDevice;
let user: string;
let token: string;
const agents: AgentProcess[] = [];

const agentArgs = () => ['--forward', origin.url, '--state-dir', device.stateDir];
const start = (...extra: string[]) => {
  const a = spawnAgent(...agentArgs(), ...extra);
  agents.push(a);
  return a;
};
const proxied = (p: string, init: RequestInit = {}) =>
  fetch(`${server.url}/devices/${device.deviceId}/proxy${p}`, { ...init, headers: { 'X-Device-Access-Token': token, ...(init.headers as Record<string, string> | undefined) } });
const online = async () => (await connectionOf(server, user, device.deviceId)).online;

beforeAll(async () => {
  server = e2eServer();
  origin = await startOrigin();
  device = await enrolDevice(server);
  const first = start();
  const code = /^Claim code: (\S+) \(expires /.exec(await first.waitFor(/^Claim code: /))?.[1] ?? '';
  user = await userAccessToken(server);
  token = await claimAndAuthorize(server, user, device.deviceId, code);
  await first.waitFor(/^claimed owner=/);
}, 120_000);

afterAll(async () => {
  for (const a of agents) a.kill();
  await origin?.close();
});

describe('the tunnel across agent failures and restarts', () => {
  it('a killed agent: the client mid-stream gets an error quickly, the device goes offline, the proxy answers 503 at once', async () => {
    const res = await proxied('/endless');
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let received = 0;
    while (received < 128 * 1024) received += (await reader.read()).value?.byteLength ?? 0;
    const killedAt = Date.now();
    agents[0]?.kill();
    const failure = await (async () => {
      try {
        for (;;) if ((await reader.read()).done) return 'the body ended cleanly';
      } catch (err) {
        return err;
      }
    })();
    // An aborted body, not a short one that looks complete.
    expect(failure).toBeInstanceOf(Error);
    expect(Date.now() - killedAt).toBeLessThan(3000);

    await until(async () => !(await online()), 5000, 'the device to go offline');
    const connection = await connectionOf(server, user, device.deviceId);
    expect(Date.parse(connection.since ?? '')).toBeGreaterThanOrEqual(killedAt - 1000);

    const asked = Date.now();
    const offline = await proxied('/hello');
    expect(offline.status).toBe(503);
    expect(offline.headers.get('retry-after')).toBe('5');
    expect(((await offline.json()) as { detail: string }).detail).toBe('The device is offline.');
    expect(Date.now() - asked).toBeLessThan(1500);
  }, 30_000);

  it('a restarted agent is back online on its first attempt and serves requests again', async () => {
    const restartedAt = Date.now();
    const agent = start();
    await agent.waitFor(/^connected device=/);
    expect(agent.lines.filter((l) => l.startsWith('connecting to '))).toEqual([`connecting to ${server.url.replace(/^http/, 'ws')}/devices/connect (attempt 1)`]);
    await until(online, 5000, 'the device to be listed online');
    // Process start-up (Node, TypeScript stripping, key import) dominates; no backoff delay precedes the first attempt.
    expect(Date.now() - restartedAt).toBeLessThan(15_000);
    const res = await proxied('/hello');
    expect(res.status).toBe(200);
    await agent.waitFor(/^GET \/hello 200 in=0B out=\d+B \d+ms$/);
  }, 30_000);

  it('a second agent with the same identity replaces the first, which is closed with 4000 and backs off for long', async () => {
    const [, older] = agents as [AgentProcess, AgentProcess];
    const newer = start();
    await newer.waitFor(/^connected device=/);
    const line = await older.waitFor(/^disconnected code=4000 /);
    expect(line).toMatch(/^disconnected code=4000 by=cloud reason="replaced by a newer connection" after [\d.]+s; retry in (\d+(\.\d)?)s$/);
    // Two agents sharing an identity must not flap: the replaced one waits half the backoff cap or more (30–60 s).
    expect(Number(/retry in ([\d.]+)s$/.exec(line)?.[1])).toBeGreaterThanOrEqual(30);
    expect(CloseCode.REPLACED).toBe(4000);
    expect(await online()).toBe(true);

    const res = await proxied('/hello?via=newer');
    expect(res.status).toBe(200);
    await newer.waitFor(/^GET \/hello 200 /);
    expect(older.lines.filter((l) => l.startsWith('GET /hello'))).toHaveLength(1);
    older.child.kill('SIGTERM');
    expect(await older.exit).toBe(0);
    expect(await online()).toBe(true);
  }, 30_000);

  it('SIGTERM drains: the in-flight stream finishes, new requests are refused, then the agent exits 0 and the device is offline', async () => {
    const agent = agents.at(-1) as AgentProcess;
    const res = await proxied('/sse?n=3');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    expect(text).toContain('id: 1');
    agent.child.kill('SIGTERM');
    await agent.waitFor(/^shutting down: waiting for 1 stream\(s\), up to 10s$/);
    const refused = await proxied('/hello');
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { detail: string }).detail).toBe('The device is shutting down; retry.');
    // Only now may the origin write events 2 and 3: the stream is still in flight while the agent drains.
    const acked = new Set<number>();
    const ackSeen = () => {
      for (const m of text.matchAll(/^id: (\d+)$/gm)) {
        const id = Number(m[1]);
        if (acked.has(id)) continue;
        acked.add(id);
        origin.sseReceived(id);
      }
    };
    ackSeen();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      ackSeen();
    }
    expect(text).toBe('id: 1\ndata: event 1\n\nid: 2\ndata: event 2\n\nid: 3\ndata: event 3\n\n');
    expect(await agent.exit).toBe(0);
    expect(agent.lines).toContainEqual(expect.stringMatching(/^GET \/sse 200 in=0B out=\d+B \d+ms$/));
    expect(agent.lines.at(-1)).toBe('stopped (stopped)');
    await until(async () => !(await online()), 5000, 'the device to go offline');
  }, 30_000);

  it('a cut link: the agent reconnects within its backoff (base 1 s) with a fresh credential, and the device is back', async () => {
    const relay = await startRelay(server.url);
    const agent = startTunnelAgent({
      url: relay.url,
      forward: origin.url,
      // The JWT's audience is the server's public URL, whichever way the socket gets there.
      credential: stateCredential(device.stateDir, { url: server.url }),
      deviceId: device.deviceId,
    });
    const seen: { name: keyof TunnelAgentEvents; at: number; payload: unknown }[] = [];
    for (const name of ['connected', 'disconnected', 'refused'] as const) agent.events.on(name, (payload: unknown) => seen.push({ name, at: Date.now(), payload }));
    try {
      await until(() => seen.some((e) => e.name === 'connected'), 10_000, 'the agent to connect through the relay');
      await until(online, 5000, 'the device to be online');
      const cutAt = Date.now();
      relay.cut();
      const back = await until(() => seen.find((e) => e.name === 'connected' && e.at > cutAt), 10_000, 'the agent to reconnect');
      const lost = seen.find((e) => e.name === 'disconnected') as { payload: TunnelAgentEvents['disconnected'][0] };
      expect(lost.payload.code).toBe(1006);
      // The first failure draws from [0, 1 s); the rest is the new handshake.
      expect(lost.payload.retryInMs).toBeLessThan(1000);
      expect(back.at - cutAt).toBeLessThan(1000 + 5000);
      expect(seen.filter((e) => e.name === 'refused')).toHaveLength(0);
      await until(online, 5000, 'the device to be online again');
      const res = await proxied('/hello?after=cut');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('hello GET ?after=cut');
    } finally {
      await agent.stop({ deadlineMs: 0 });
      await relay.close();
    }
  }, 40_000);
});

describe('credentials the Worker refuses at GET /devices/connect', () => {
  it('refuses a replayed device JWT (401); revoking the certificate closes the live tunnel (4003) and refuses it from then on (403)', async () => {
    const other = await enrolDevice(server);
    const url = `${server.url.replace(/^http/, 'ws')}/devices/connect`;
    const jwt = await other.jwt();
    const dial = () =>
      new Promise<{ status: number; detail?: string; socket?: WebSocket }>((resolve, reject) => {
        const ws = new WebSocket(url, TUNNEL_SUBPROTOCOL, { headers: { Authorization: `Bearer ${jwt}` } });
        ws.once('open', () => resolve({ status: 101, socket: ws }));
        ws.once('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, detail: (JSON.parse(body) as { detail: string }).detail }));
        });
        ws.once('error', reject);
      });
    const first = await dial();
    expect(first.status).toBe(101);
    first.socket?.close(1000);
    expect(await dial()).toEqual({ status: 401, detail: 'device token already used' });

    const agent = spawnAgent('--forward', origin.url, '--state-dir', other.stateDir, '--exit-on-auth-failure');
    agents.push(agent);
    await agent.waitFor(/^Claim code: /);
    await revokeDevice(server, other.deviceId);
    expect(await agent.waitFor(/^disconnected /)).toMatch(/^disconnected code=4003 by=cloud reason="certificate revoked" after [\d.]+s; retry in [\d.]+s$/);
    await agent.waitFor(/^device credential refused/);
    const refusedAt = Date.now();
    expect(await agent.exit).toBe(7);
    // The process ends at once: nothing (such as the refused connection) keeps it alive.
    expect(Date.now() - refusedAt).toBeLessThan(3000);
    expect(agent.lines).toContain('device credential refused (HTTP 403: device certificate revoked); not retrying');
  }, 30_000);
});
