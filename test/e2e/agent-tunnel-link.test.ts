/**
 * The agent's connection life: the handshake and `hello`, the heartbeat and dead-link detection, reconnects with
 * full-jitter backoff and a fresh credential each time, refused credentials, protocol errors, a replaced connection,
 * and the graceful shutdown.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { maskingIsMoot } from '../../agent/tunnel/agent.ts';
import { createBackoff, fullJitter, startTunnelAgent } from '../../agent/tunnel/index.ts';
import { CloseCode, ErrorCode } from '../../lib/tunnel/index.ts';
import { sleep, startLocalService, startTunnel, until } from './agent-tunnel-harness.test-fixture.ts';
import { startCloudPeer } from './agent-tunnel-peer.test-fixture.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function okService(delayMs = 0) {
  const urls: string[] = [];
  const local = await startLocalService((req, res) => {
    urls.push(req.url ?? '');
    setTimeout(() => res.end(`ok ${req.url}`), delayMs);
  });
  cleanup.push(() => local.close());
  return Object.assign(local, { urls });
}

describe('full-jitter backoff', () => {
  it('draws each delay uniformly below min(cap, base·2^n)', () => {
    expect([0, 1, 2, 3, 6, 7, 60].map((n) => fullJitter(n, 0.999_999, 1000, 60_000))).toEqual([999, 1999, 3999, 7999, 59_999, 59_999, 59_999]);
    expect(fullJitter(5, 0, 1000, 60_000)).toBe(0);
    expect(fullJitter(1, 0.5, 1000, 60_000)).toBe(1000);
  });

  it('grows per failure, stays within its ceiling with any random source, and resets', () => {
    let seed = 42;
    const lcg = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const b = createBackoff({ random: lcg });
    for (let n = 0; n < 20; n++) {
      const ceiling = b.ceiling();
      expect(ceiling).toBe(Math.min(60_000, 1000 * 2 ** n));
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(ceiling);
    }
    expect(b.failures()).toBe(20);
    b.reset();
    expect(b.ceiling()).toBe(1000);
    const replaced = createBackoff({ random: () => 0 }).replaced();
    expect(replaced).toBe(30_000);
  });
});

describe('frame masking', () => {
  it('skips the mask only where no intermediary parses the bytes: TLS and loopback', () => {
    expect(maskingIsMoot('wss://gatehouse.example/devices/connect')).toBe(true);
    expect(maskingIsMoot('ws://127.0.0.1:8787/devices/connect')).toBe(true);
    expect(maskingIsMoot('ws://localhost:8787/devices/connect')).toBe(true);
    expect(maskingIsMoot('ws://[::1]:8787/devices/connect')).toBe(true);
    expect(maskingIsMoot('ws://gatehouse.example/devices/connect')).toBe(false);
    expect(maskingIsMoot('ws://10.0.0.5:8787/devices/connect')).toBe(false);
    expect(maskingIsMoot('ws://127.0.0.1.evil.example/devices/connect')).toBe(false);
  });
});

describe('agent connection', () => {
  it('offers the subprotocol and a bearer credential, sends hello with its version and settings', async () => {
    const local = await okService();
    const tunnel = await startTunnel(local.url);
    cleanup.push(() => tunnel.close());
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(await tunnel.conn.hello).toEqual({ type: 'hello', agentVersion: pkg.version, settings: { maxConcurrentStreams: 64, initialWindow: 256 * 1024, batchFrames: true } });
    expect(tunnel.peer.attempts[0]).toMatchObject({ protocol: 'gatehouse-tunnel.v1', authorization: 'Bearer header.payload1.signature', status: 101 });
    expect(tunnel.agent.connected()).toBe(true);
  });

  it('detects a dead link by its heartbeat, closes with 4002 and reconnects', async () => {
    const local = await okService();
    const tunnel = await startTunnel(local.url, { peer: { config: { pingIntervalSeconds: 1, pingTimeoutSeconds: 1 } } });
    cleanup.push(() => tunnel.close());
    await sleep(2500);
    // Healthy: pings went out and were answered.
    expect(tunnel.conn.texts.filter((t) => t === 'ping').length).toBeGreaterThanOrEqual(2);
    const started = performance.now();
    tunnel.conn.setPong(false);
    const next = tunnel.peer.nextConnection(6000);
    expect((await tunnel.conn.closed).code).toBe(CloseCode.HEARTBEAT_TIMEOUT);
    // At most one interval for the next ping plus the timeout.
    expect(performance.now() - started).toBeLessThan(2600);
    await (await next).hello;
    expect(tunnel.peer.attempts.map((a) => a.authorization)).toEqual(['Bearer header.payload1.signature', 'Bearer header.payload2.signature']);
  });

  it('keeps the link when its own event loop stalled past the timeout while the answer was already in the socket', async () => {
    const local = await okService();
    const tunnel = await startTunnel(local.url, { peer: { config: { pingIntervalSeconds: 1, pingTimeoutSeconds: 1 } } });
    cleanup.push(() => tunnel.close());
    // The peer answers the next ping at once (its own listener runs first), and then this whole process blocks for
    // longer than the timeout, as a long GC pause or a busy device would: when the loop resumes, the agent's deadline
    // timer is due before the pong, already in its socket, is read.
    let stalled = false;
    tunnel.conn.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (stalled || isBinary || data.toString() !== 'ping') return;
      stalled = true;
      const blockedUntil = Date.now() + 1500;
      while (Date.now() < blockedUntil) {
        /* stall */
      }
    });
    await until(() => stalled, 3000);
    await sleep(1500);
    expect(tunnel.agent.connected()).toBe(true);
    expect(tunnel.peer.attempts).toHaveLength(1);
  });

  it('backs off with full jitter between refused attempts, a fresh credential each time, and logs the refusal', async () => {
    const peer = await startCloudPeer({ gate: () => ({ status: 401, detail: 'device certificate revoked' }) });
    cleanup.push(() => peer.close());
    const local = await okService();
    const refusals: { status: number | null; reason: string; authFailure: boolean; retryInMs: number | null }[] = [];
    let n = 0;
    const agent = startTunnelAgent({
      url: peer.url,
      forward: local.url,
      credential: async () => `jwt.number.${++n}`,
      backoff: { baseMs: 100, capMs: 400, random: () => 0.5 },
    });
    cleanup.push(async () => void (await agent.stop()));
    agent.events.on('refused', (r) => refusals.push(r));
    await until(() => peer.attempts.length >= 6, 5000, 'six attempts');
    await agent.stop();
    expect(refusals[0]).toMatchObject({ status: 401, reason: 'device certificate revoked', authFailure: true });
    // Half of min(cap, base·2^n): 50, 100, 200, 200, 200 ms.
    expect(refusals.slice(0, 5).map((r) => r.retryInMs)).toEqual([50, 100, 200, 200, 200]);
    const gaps = peer.attempts.slice(1, 6).map((a, i) => a.at - (peer.attempts[i]?.at ?? 0));
    gaps.forEach((gap, i) => {
      const expected = [50, 100, 200, 200, 200][i] ?? 0;
      expect(gap).toBeGreaterThanOrEqual(expected - 5);
      expect(gap).toBeLessThan(expected + 150);
    });
    expect(new Set(peer.attempts.map((a) => a.authorization)).size).toBe(peer.attempts.length);
  });

  it('stops on a refused credential with exitOnAuthFailure', async () => {
    const peer = await startCloudPeer({ gate: () => ({ status: 403, detail: 'device certificate revoked' }) });
    cleanup.push(() => peer.close());
    const agent = startTunnelAgent({ url: peer.url, forward: 'http://127.0.0.1:9', credential: async () => 'a.b.c', exitOnAuthFailure: true });
    expect(await agent.done).toBe('auth_failed');
    expect(peer.attempts).toHaveLength(1);
  });

  it('answers a malformed frame with GOAWAY PROTOCOL_ERROR and close 1002, then reconnects', async () => {
    const local = await okService();
    const tunnel = await startTunnel(local.url);
    cleanup.push(() => tunnel.close());
    const next = tunnel.peer.nextConnection();
    tunnel.conn.raw(new Uint8Array([1, 2, 3]));
    expect(await tunnel.conn.goaway).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR });
    expect((await tunnel.conn.closed).code).toBe(CloseCode.PROTOCOL_ERROR);
    await (await next).hello;
  });

  it('after close 4000 (replaced) waits a long, jittered delay instead of fighting the other connection', async () => {
    const local = await okService();
    const tunnel = await startTunnel(local.url, { agent: { backoff: { baseMs: 50, capMs: 10_000, random: () => 0.5 } } });
    cleanup.push(() => tunnel.close());
    const gone = new Promise<number | null>((resolve) => tunnel.agent.events.once('disconnected', (e) => resolve(e.retryInMs)));
    tunnel.conn.ws.close(CloseCode.REPLACED, 'replaced by a newer connection');
    expect(await gone).toBe(7500);
  });

  it('shuts down gracefully: GOAWAY, refuses new streams, finishes in-flight ones, closes 1000', async () => {
    const local = await okService(400);
    const tunnel = await startTunnel(local.url);
    cleanup.push(() => tunnel.close());
    const inflight = tunnel.conn.get('/slow');
    await sleep(50);
    const stopped = tunnel.agent.stop();
    // This OPEN crosses the agent's GOAWAY on the wire.
    const late = tunnel.conn.get('/late');
    const goaway = await tunnel.conn.goaway;
    expect(goaway).toMatchObject({ code: ErrorCode.NO_ERROR, lastStreamId: 1 });
    expect((await late.reset).code).toBe(ErrorCode.REFUSED_STREAM);
    expect((await inflight.readAll()).toString()).toBe('ok /slow');
    expect(await tunnel.conn.closed).toEqual({ code: CloseCode.NORMAL, reason: 'agent shutting down' });
    expect(await stopped).toBe('stopped');
    expect(local.urls).toEqual(['/slow']);
  });

  it('resets streams still running at the shutdown deadline', async () => {
    const local = await okService(60_000);
    const tunnel = await startTunnel(local.url, { agent: { shutdownDeadlineMs: 300 } });
    cleanup.push(() => tunnel.close());
    const stuck = tunnel.conn.get('/stuck');
    await sleep(50);
    const started = performance.now();
    await tunnel.agent.stop();
    expect(performance.now() - started).toBeLessThan(1500);
    expect((await stuck.reset).code).toBe(ErrorCode.CANCEL);
    expect((await tunnel.conn.closed).code).toBe(CloseCode.NORMAL);
  });
});
