import { Readable } from 'node:stream';
import { BLOCK, createChecker, slices } from './tunnel-bytes.ts';

/** The HTTP side of the tunnel benchmark: a 1 KiB GET and byte-checked downloads and uploads, against any path. */

const ONE_K = BLOCK.subarray(0, 1024);

export type Pool = import('undici').Pool;

/** An undici pool to `origin` (one request per connection at a time). */
export const newPool = async (origin: string, connections: number): Promise<Pool> => new (await import('undici')).Pool(origin, { connections, pipelining: 1, bodyTimeout: 30_000, headersTimeout: 30_000 });

/** A 1 KiB GET, checked byte for byte. */
export async function get1k(pool: Pool, p: string, headers: Record<string, string>): Promise<boolean> {
  const res = await pool.request({ path: p, method: 'GET', headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return res.statusCode === 200 && body.equals(ONE_K);
}

/** How a transfer went: its duration, whether every byte arrived intact, and why not. */
export type Transfer = { seconds: number; ok: boolean; failure?: string };

/** Downloads `n` bytes, checking them against the pattern as they arrive; a failure is recorded with how far it got. */
export async function download(pool: Pool, p: string, headers: Record<string, string>, n: number): Promise<Transfer> {
  const t0 = performance.now();
  const check = createChecker();
  try {
    const res = await pool.request({ path: `${p}?n=${n}`, method: 'GET', headers });
    for await (const chunk of res.body) check.update(chunk as Buffer);
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, ok: res.statusCode === 200 && check.bytes === n && check.firstBad === undefined };
  } catch (e) {
    return { seconds: (performance.now() - t0) / 1000, ok: false, failure: `${e instanceof Error ? e.message : String(e)} after ${check.bytes} bytes` };
  }
}

/** Uploads `n` bytes of the pattern; the origin checks them and says how many arrived intact. */
export async function upload(pool: Pool, p: string, headers: Record<string, string>, n: number): Promise<Transfer> {
  const t0 = performance.now();
  try {
    const res = await pool.request({ path: p, method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(n) }, body: Readable.from(slices(0, n)) });
    const text = await res.body.text();
    const seconds = (performance.now() - t0) / 1000;
    if (res.statusCode !== 200) return { seconds, ok: false, failure: `HTTP ${res.statusCode}: ${text.slice(0, 200)}` };
    const answer = JSON.parse(text) as { bytes: number; firstBad: number | null };
    return { seconds, ok: answer.bytes === n && answer.firstBad === null, ...(answer.bytes === n ? {} : { failure: `origin got ${answer.bytes} bytes` }) };
  } catch (e) {
    return { seconds: (performance.now() - t0) / 1000, ok: false, failure: e instanceof Error ? e.message : String(e) };
  }
}
