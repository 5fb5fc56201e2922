/**
 * The agent's HTTP streams against the test cloud peer and a real local HTTP service: byte-exact bodies both ways,
 * concurrency, flow control in both directions, cancellation both ways, and an unreachable local service.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, FrameEncodeError, encodeOpen } from '../../lib/tunnel/index.ts';
import { freePort } from '../../scripts/lib/local-server.ts';
import { chunks, random, sha256, sleep, startLocalService, startTunnel, until, type Tunnel } from './agent-tunnel-harness.test-fixture.ts';

const MiB = 1024 * 1024;
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(handler: Parameters<typeof startLocalService>[0], opts: Parameters<typeof startTunnel>[1] = {}, forwardPath = '') {
  const local = await startLocalService(handler);
  cleanup.push(() => local.close());
  const tunnel = await startTunnel(local.url + forwardPath, opts);
  cleanup.push(() => tunnel.close());
  return { local, tunnel };
}

// Streams the request body back, with its hash and length in the response head.
function echoService(seen: { path?: string; headers?: string[]; bytes?: number }[] = []) {
  return ((req, res) => {
    const hash = createHash('sha256');
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      hash.update(c);
      parts.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(parts);
      seen.push({ path: req.url, headers: req.rawHeaders, bytes: body.byteLength });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-sha256': hash.digest('hex'), 'x-length': String(body.byteLength) });
      for (const c of chunks(body, 100_000)) res.write(c);
      res.end();
    });
  }) satisfies Parameters<typeof startLocalService>[0];
}

describe('agent HTTP streams', () => {
  it('forwards method, path, query and end-to-end headers, and relays status, repeated headers and body', async () => {
    const { local, tunnel } = await setup((req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('connection', 'keep-alive');
      res.writeHead(201, { 'content-type': 'text/plain', 'x-seen': JSON.stringify({ url: req.url, method: req.method, host: req.headers.host, xff: req.headers['x-forwarded-for'], te: req.headers['te'] ?? null }) });
      res.end('created');
    });
    const s = tunnel.conn.get('/items/1?limit=10&q=a%20b', [['x-forwarded-for', '198.51.100.7'], ['te', 'trailers']], 'PUT');
    const head = await s.response;
    expect(head.status).toBe(201);
    expect(head.headers.filter(([n]) => n.toLowerCase() === 'set-cookie').map(([, v]) => v)).toEqual(['a=1', 'b=2']);
    expect(head.headers.some(([n]) => n.toLowerCase() === 'connection')).toBe(false);
    const seen = JSON.parse(head.headers.find(([n]) => n === 'x-seen')?.[1] ?? '{}');
    expect(seen).toEqual({ url: '/items/1?limit=10&q=a%20b', method: 'PUT', host: `127.0.0.1:${local.port}`, xff: '198.51.100.7', te: null });
    expect((await s.readAll()).toString()).toBe('created');
    await until(() => tunnel.requests.length === 1);
    expect(tunnel.requests[0]).toMatchObject({ method: 'PUT', path: '/items/1', status: 201, bytesIn: 0, bytesOut: 7, outcome: 'ok', websocket: false });
    expect(tunnel.conn.errors).toEqual([]);
  });

  it('streams an 8 MiB binary body up and back byte for byte (SHA-256 on both sides)', async () => {
    const seen: { bytes?: number }[] = [];
    const { tunnel } = await setup(echoService(seen));
    const body = random(8 * MiB + 12_345);
    const s = tunnel.conn.open({ method: 'POST', path: '/echo', headers: [['content-type', 'application/octet-stream']] });
    await s.sendBody(chunks(body, 200_000));
    const head = await s.response;
    expect(head.headers.find(([n]) => n === 'x-sha256')?.[1]).toBe(sha256(body));
    const back = await s.readAll();
    expect(back.byteLength).toBe(body.byteLength);
    expect(sha256(back)).toBe(sha256(body));
    await until(() => tunnel.requests.length === 1);
    expect(tunnel.requests[0]).toMatchObject({ bytesIn: body.byteLength, bytesOut: body.byteLength, outcome: 'ok' });
    // Credit went back in batches of at least half the 256 KiB window, not one update per chunk.
    expect(s.stats.windowUpdates).toBeLessThanOrEqual(Math.ceil(body.byteLength / (128 * 1024)) + 1);
    expect(tunnel.conn.errors).toEqual([]);
  });

  it('batches its frames once the cloud accepts batches: a small answer crosses as one message, a large one intact', async () => {
    const seen: { bytes?: number }[] = [];
    const { tunnel } = await setup(echoService(seen), { peer: { settings: { batchFrames: true }, config: { settings: { batchFrames: true } } } });
    expect((await tunnel.conn.hello).settings?.batchFrames).toBe(true);
    const before = tunnel.conn.messageSizes.length;
    const small = tunnel.conn.open({ method: 'POST', path: '/echo', headers: [] });
    await small.sendBody([Buffer.from('tiny')]);
    expect((await small.readAll()).toString()).toBe('tiny');
    // RESPONSE, DATA and END of a local answer that arrived in one read went out together.
    expect(tunnel.conn.messageSizes.slice(before)).toContain(3);
    const body = random(3 * MiB + 7);
    const big = tunnel.conn.open({ method: 'POST', path: '/echo', headers: [] });
    await big.sendBody(chunks(body, 150_000));
    expect(sha256(await big.readAll())).toBe(sha256(body));
    // The peer's socket refuses messages above MAX_BATCH_BYTES (maxPayload), so none was larger.
    expect(tunnel.conn.messageSizes.filter((n) => n > 1).length).toBeGreaterThan(1);
    expect(tunnel.conn.errors).toEqual([]);
  });

  it('runs 50 concurrent streams on one connection, each body intact', async () => {
    const { tunnel } = await setup(echoService());
    const bodies = Array.from({ length: 50 }, (_, i) => random(50_000 + i * 997));
    const results = await Promise.all(
      bodies.map(async (body, i) => {
        const s = tunnel.conn.open({ method: 'POST', path: `/echo/${i}`, headers: [] });
        void s.sendBody(chunks(body, 30_000));
        await s.response;
        return sha256(await s.readAll());
      }),
    );
    expect(results).toEqual(bodies.map(sha256));
    await until(() => tunnel.requests.length === 50);
    expect(tunnel.conn.errors).toEqual([]);
  });

  it('a slow local reader stalls the upload at the window: credit returns only as the local service drains', async () => {
    let paused = true;
    let received = 0;
    const hash = createHash('sha256');
    const { tunnel } = await setup((req, res) => {
      req.pause();
      const go = () => {
        req.on('data', (c: Buffer) => ((received += c.byteLength), hash.update(c)));
        req.on('end', () => res.end(hash.digest('hex')));
        req.resume();
      };
      const wait = setInterval(() => !paused && (clearInterval(wait), go()), 20);
    });
    const body = random(48 * MiB);
    const s = tunnel.conn.open({ method: 'POST', path: '/slow', headers: [] });
    const sending = s.sendBody(chunks(body, 64 * 1024));
    await sleep(1000);
    // What left the peer is bounded by the window plus the local sockets' buffers, far below the body.
    const stalledAt = s.stats.sent;
    expect(stalledAt).toBeLessThan(24 * MiB);
    expect(received).toBe(0);
    paused = false;
    await sending;
    expect((await s.readAll()).toString()).toBe(sha256(body));
    expect(received).toBe(body.byteLength);
    expect(tunnel.conn.errors).toEqual([]);
  });

  it('a slow cloud reader gets exactly its window, and the local response is paused rather than buffered', async () => {
    const total = 64 * MiB;
    const body = random(total);
    let written = 0;
    const { tunnel } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const it = chunks(body, 64 * 1024);
      const pump = () => {
        for (let r = it.next(); !r.done; r = it.next()) {
          written += r.value.byteLength;
          if (!res.write(r.value)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const s = tunnel.conn.open({ method: 'GET', path: '/big', headers: [] }, { autoRead: false });
    s.end();
    await s.response;
    await sleep(1000);
    // The agent sent exactly the 256 KiB the peer granted (an overrun would be a FLOW_CONTROL error in conn.errors)…
    expect(s.stats.received).toBe(256 * 1024);
    // …and what the local service managed to write is held by socket buffers, not by the agent: bounded, not 64 MiB.
    expect(written).toBeLessThan(24 * MiB);
    const back = await s.readAll();
    expect(sha256(back)).toBe(sha256(body));
    expect(tunnel.conn.errors).toEqual([]);
  });

  it('a request announced without a body (noBody) goes to the local service before its END arrives', async () => {
    const seen: { method?: string; bytes?: number }[] = [];
    const { tunnel } = await setup((req, res) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.byteLength));
      req.on('end', () => {
        seen.push({ method: req.method, bytes });
        res.end('no body here');
      });
    });
    const s = tunnel.conn.open({ method: 'GET', path: '/nobody', headers: [], noBody: true });
    // No END yet: the local request is already complete, so its response comes back.
    expect((await s.response).status).toBe(200);
    expect((await s.readAll()).toString()).toBe('no body here');
    expect(seen).toEqual([{ method: 'GET', bytes: 0 }]);
    // The END the cloud sends after OPEN changes nothing.
    s.end();
    await until(() => tunnel.requests.length === 1);
    expect(tunnel.requests[0]).toMatchObject({ status: 200, outcome: 'ok', bytesIn: 0 });
  });

  it('DATA on a request announced without a body is a stream PROTOCOL_ERROR', async () => {
    const { tunnel } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
    });
    const s = tunnel.conn.open({ method: 'GET', path: '/nobody', headers: [], noBody: true });
    expect((await s.response).status).toBe(200);
    expect(await s.sendBody([new Uint8Array([1, 2, 3])], false)).toBe(true);
    expect((await s.reset).code).toBe(ErrorCode.PROTOCOL_ERROR);
    await until(() => tunnel.requests.length === 1);
    expect(tunnel.requests[0]).toMatchObject({ outcome: 'failed', resetCode: ErrorCode.PROTOCOL_ERROR });
  });

  it('a RESET CANCEL from the cloud aborts the local request', async () => {
    let localClosed = false;
    const { tunnel } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => res.write(`data: ${Date.now()}\n\n`), 20);
      res.on('close', () => {
        clearInterval(timer);
        localClosed = true;
      });
    });
    const s = tunnel.conn.get('/events');
    await s.response;
    expect(await s.read()).not.toBeNull();
    s.cancel(ErrorCode.CANCEL, 'client went away');
    await until(() => localClosed, 2000, 'the local response to close');
    await until(() => tunnel.requests.length === 1);
    expect(tunnel.requests[0]).toMatchObject({ outcome: 'cancelled', resetCode: ErrorCode.CANCEL, status: 200 });
  });

  it('a local service that breaks mid-body makes the agent RESET INTERNAL', async () => {
    const { tunnel } = await setup((_req, res) => {
      res.writeHead(200, { 'content-length': '1000000' });
      res.write(Buffer.alloc(1000));
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const s = tunnel.conn.get('/broken');
    expect((await s.response).status).toBe(200);
    expect((await s.reset).code).toBe(ErrorCode.INTERNAL);
    await until(() => tunnel.requests.length === 1);
    expect(tunnel.requests[0]).toMatchObject({ outcome: 'failed', resetCode: ErrorCode.INTERNAL });
  });

  it('a local service that is down gets RESET UPSTREAM_UNREACHABLE before any head', async () => {
    const tunnel: Tunnel = await startTunnel(`http://127.0.0.1:${await freePort()}`);
    cleanup.push(() => tunnel.close());
    const s = tunnel.conn.get('/');
    const reset = await s.reset;
    expect(reset.code).toBe(ErrorCode.UPSTREAM_UNREACHABLE);
    expect(reset.reason).toContain('ECONNREFUSED');
    await until(() => tunnel.requests.length === 1);
    expect(tunnel.requests[0]).toMatchObject({ status: 0, outcome: 'unreachable' });
  });

  it('keeps proxied paths under the --forward origin and base path', async () => {
    const seen: { path?: string }[] = [];
    const { tunnel } = await setup(echoService(seen), {}, '/base/');
    const s = tunnel.conn.get('/x/y?z=1');
    expect((await s.response).status).toBe(200);
    await s.readAll();
    expect(seen[0]?.path).toBe('/base/x/y?z=1');
    // A scheme-relative path cannot even be put on the wire (and the agent's decoder refuses it too).
    expect(() => encodeOpen(9, { method: 'GET', path: '//evil.example/x', headers: [] })).toThrow(FrameEncodeError);
  });

  it('refuses streams beyond its announced limit with REFUSED_STREAM', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const { tunnel } = await setup((_req, res) => void gate.then(() => res.end('ok')), { agent: { settings: { maxConcurrentStreams: 2 } } });
    expect((await tunnel.conn.hello).settings?.maxConcurrentStreams).toBe(2);
    // The peer's own table would wait; a misbehaving cloud opens a third anyway.
    tunnel.conn.table.setPeerSettings({ maxConcurrentStreams: 10 });
    const [a, b, c] = [tunnel.conn.get('/1'), tunnel.conn.get('/2'), tunnel.conn.get('/3')];
    expect((await c.reset).code).toBe(ErrorCode.REFUSED_STREAM);
    release();
    expect([(await a.readAll()).toString(), (await b.readAll()).toString()]).toEqual(['ok', 'ok']);
  });
});
