/**
 * The runtime's floor for a Durable Object proxy, as an inline Worker for the tunnel benchmark: the Worker hands each
 * request to a Durable Object (by name, as the device proxy does), and the object answers itself, with no tunnel and
 * no agent: `GET /1k` (1 KiB), `GET /bytes?n=N` (N bytes of bench/lib/tunnel-bytes.ts's pattern, a pull stream) and
 * `POST /upload` (counts the body's bytes). What the tunnel adds on top of this is Gatehouse's own cost.
 */
import { BLOCK_BYTES } from './tunnel-bytes.ts';

export const DO_FLOOR_WORKER = `
const BLOCK_BYTES = ${BLOCK_BYTES};
let block;
function makeBlock() {
  const out = new Uint8Array(BLOCK_BYTES);
  let x = 0x9e3779b9;
  for (let i = 0; i < BLOCK_BYTES; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; out[i] = x & 0xff; }
  return out;
}
export class Floor {
  async fetch(request) {
    block ??= makeBlock();
    const url = new URL(request.url);
    if (url.pathname === '/health') return new Response('ok');
    if (url.pathname === '/1k') return new Response(block.slice(0, 1024), { headers: { 'content-type': 'application/octet-stream' } });
    if (url.pathname === '/bytes') {
      const n = Number(url.searchParams.get('n') ?? 0);
      let at = 0;
      const body = new ReadableStream({
        pull(c) {
          if (at >= n) return c.close();
          const inBlock = at % BLOCK_BYTES;
          const len = Math.min(64 * 1024, n - at, BLOCK_BYTES - inBlock);
          c.enqueue(block.slice(inBlock, inBlock + len));
          at += len;
        },
      }, { highWaterMark: 0 });
      return new Response(body, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(n) } });
    }
    if (url.pathname === '/upload') {
      let bytes = 0;
      for await (const chunk of request.body) bytes += chunk.byteLength;
      return Response.json({ bytes, firstBad: null });
    }
    return new Response('not found', { status: 404 });
  }
}
export default { fetch: (request, env) => env.FLOOR.getByName('floor').fetch(request) };
`;
