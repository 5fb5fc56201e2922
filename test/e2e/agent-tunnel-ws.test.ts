/**
 * WebSocket upgrades through the agent: messages relayed both ways (text, large binary fragmented under credit, empty),
 * subprotocol negotiation, closes with their codes in both directions, a declined upgrade, an unreachable service and
 * a RESET from the cloud.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { ErrorCode, type RequestHead } from '../../lib/tunnel/index.ts';
import { freePort } from '../../scripts/lib/local-server.ts';
import { random, sha256, startLocalService, startTunnel, until, type Tunnel } from './agent-tunnel-harness.test-fixture.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

type LocalEvents = { closes: { code: number; reason: string }[]; sockets: WebSocket[]; headers: Record<string, string | string[] | undefined>[] };

// A local echo WebSocket service that picks the "chat" subprotocol and reports what it saw.
async function echoTunnel(onConnection?: (ws: WebSocket) => void): Promise<{ tunnel: Tunnel; seen: LocalEvents }> {
  const seen: LocalEvents = { closes: [], sockets: [], headers: [] };
  const local = await startLocalService((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (p) => (p.has('chat') ? 'chat' : false) });
  local.server.on('upgrade', (req, socket, head) => {
    if (req.url === '/ws') return wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: close\r\n\r\nno such socket');
  });
  wss.on('connection', (ws, req) => {
    seen.sockets.push(ws);
    seen.headers.push(req.headers);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('close', (code, reason) => seen.closes.push({ code, reason: reason.toString() }));
    onConnection?.(ws);
  });
  cleanup.push(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
    await local.close();
  });
  const tunnel = await startTunnel(local.url);
  cleanup.push(() => tunnel.close());
  return { tunnel, seen };
}

const upgrade = (path = '/ws', protocol = 'chat, superchat'): RequestHead => ({
  method: 'GET',
  path,
  headers: [['sec-websocket-protocol', protocol], ['x-user', 'alice'], ['sec-websocket-key', 'from-the-other-hop']],
  websocket: true,
});

describe('agent WebSocket streams', () => {
  it('relays messages both ways, fragmenting a large binary message under the credit, and closes with the code', async () => {
    const { tunnel, seen } = await echoTunnel();
    const s = tunnel.conn.open(upgrade());
    const head = await s.response;
    expect(head.status).toBe(101);
    expect(head.headers.find(([n]) => n.toLowerCase() === 'sec-websocket-protocol')?.[1]).toBe('chat');
    expect(seen.headers[0]?.['x-user']).toBe('alice');
    expect(seen.headers[0]?.['sec-websocket-key']).not.toBe('from-the-other-hop');

    await s.sendMessage('héllo ✓');
    expect(await s.nextMessage()).toBe('héllo ✓');
    const big = random(600 * 1024);
    await s.sendMessage(big);
    const echoed = await s.nextMessage();
    expect(typeof echoed).not.toBe('string');
    expect(sha256(echoed as Uint8Array)).toBe(sha256(big));
    await s.sendMessage('');
    expect(await s.nextMessage()).toBe('');

    s.end({ code: 1000, reason: 'done' });
    expect(await s.ended).toEqual({ code: 1000, reason: 'done' });
    await until(() => seen.closes.length === 1);
    expect(seen.closes[0]).toEqual({ code: 1000, reason: 'done' });
    await until(() => tunnel.requests.length === 1);
    expect(tunnel.requests[0]).toMatchObject({ websocket: true, status: 101, outcome: 'ok', path: '/ws' });
    expect(tunnel.requests[0]?.bytesOut).toBeGreaterThanOrEqual(big.byteLength);
    expect(tunnel.conn.errors).toEqual([]);
  });

  it('relays a close started by the local service, with its code and reason', async () => {
    const { tunnel } = await echoTunnel((ws) => setTimeout(() => ws.close(4001, 'bye'), 50));
    const s = tunnel.conn.open(upgrade());
    expect((await s.response).status).toBe(101);
    expect(await s.ended).toEqual({ code: 4001, reason: 'bye' });
  });

  it('relays a declined upgrade as an ordinary response', async () => {
    const { tunnel } = await echoTunnel();
    const s = tunnel.conn.open(upgrade('/not-a-socket'));
    const head = await s.response;
    expect(head.status).toBe(404);
    expect((await s.readAll()).toString()).toBe('no such socket');
    s.end();
    await until(() => tunnel.requests.length === 1);
    expect(tunnel.requests[0]).toMatchObject({ websocket: true, status: 404, outcome: 'ok' });
  });

  it('a RESET from the cloud drops the local WebSocket', async () => {
    const { tunnel, seen } = await echoTunnel();
    const s = tunnel.conn.open(upgrade());
    expect((await s.response).status).toBe(101);
    s.cancel(ErrorCode.CANCEL, 'client went away');
    await until(() => seen.closes.length === 1, 3000, 'the local socket to close');
    expect(seen.closes[0]?.code).toBe(1006);
  });

  it('an unreachable local service gets RESET UPSTREAM_UNREACHABLE', async () => {
    const tunnel = await startTunnel(`http://127.0.0.1:${await freePort()}`);
    cleanup.push(() => tunnel.close());
    const s = tunnel.conn.open(upgrade());
    expect((await s.reset).code).toBe(ErrorCode.UPSTREAM_UNREACHABLE);
  });
});
