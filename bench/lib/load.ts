import { performance } from 'node:perf_hooks';

/** Latency and throughput of one measured run. */
export type LoadResult = { requests: number; errors: number; seconds: number; rps: number; p50: number; p99: number; mean: number };

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/**
 * Runs `request` from `concurrency` loops for `durationMs` (after `warmupMs` not counted) and reports latency
 * percentiles in milliseconds and requests per second. Bounded in time; it stops by itself.
 */
export async function load(request: () => Promise<boolean>, opts: { concurrency: number; durationMs: number; warmupMs?: number }): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const warmupEnd = performance.now() + (opts.warmupMs ?? 500);
  const end = warmupEnd + opts.durationMs;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      let ok = false;
      try {
        ok = await request();
      } catch {
        ok = false;
      }
      const t1 = performance.now();
      if (t0 >= warmupEnd) {
        if (ok) latencies.push(t1 - t0);
        else errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  latencies.sort((a, b) => a - b);
  const seconds = opts.durationMs / 1000;
  return {
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    mean: latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1),
  };
}

/** Prints rows as an aligned table. */
export function table(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(fmt(r[c] ?? '')).length)));
  const line = (cells: string[]) => cells.map((s, i) => s.padEnd(widths[i]!)).join('  ');
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => String(fmt(r[c] ?? '')))));
}

/** A keep-alive HTTP client with a fixed connection pool (undici), much cheaper per request than fetch. */
export async function httpClient(origin: string, connections: number) {
  const { Pool } = await import('undici');
  const pool = new Pool(origin, { connections, pipelining: 1 });
  return {
    async request(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; text: string }> {
      const res = await pool.request({ path, method: (init.method ?? 'GET') as 'GET', headers: init.headers, body: init.body });
      return { status: res.statusCode, text: await res.body.text() };
    },
    close: () => pool.close(),
  };
}
