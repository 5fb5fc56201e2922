/**
 * The device's local service in the tunnel benchmark, run as its own process (so the load generator's event loop
 * doesn't serve it): `GET /1k` (1 KiB), `GET /bytes?n=N` (N bytes of the pattern, streamed with backpressure) and
 * `POST /upload` (checks the body against the pattern and answers `{bytes, firstBad}`). Prints its URL, then serves
 * until its parent closes stdin.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BLOCK, createChecker, slices } from './tunnel-bytes.ts';

const ONE_K = BLOCK.subarray(0, 1024);

/** Waits for a response's write buffer to drain (or the response to close), leaving no listener behind. */
const drained = (res: ServerResponse) =>
  new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://origin');
  if (url.pathname === '/1k') {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1024 }).end(ONE_K);
    return;
  }
  if (url.pathname === '/bytes') {
    const n = Number(url.searchParams.get('n') ?? 0);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
    void (async () => {
      for (const s of slices(0, n)) {
        if (res.destroyed) return;
        if (!res.write(s)) await drained(res);
      }
      res.end();
    })();
    return;
  }
  if (url.pathname === '/upload' && req.method === 'POST') {
    const check = createChecker();
    req.on('data', (chunk: Buffer) => check.update(chunk));
    req.on('end', () => {
      const body = JSON.stringify({ bytes: check.bytes, firstBad: check.firstBad ?? null });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
    return;
  }
  res.writeHead(404).end();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
