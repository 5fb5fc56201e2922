/**
 * EST enrolment throughput against the local Worker (wrangler dev): each enrolment is CSR parse and signature check,
 * OTP check, certificate signing and the D1 batch. Measured at a few concurrencies, next to the raw ECDSA P-256 sign
 * rate of Node's WebCrypto in the same run, the ceiling for anything that signs once per request, and the rate of a
 * static route (csrattrs) through the same harness, which shows how much of the figure is the wrangler dev path itself.
 */
import path from 'node:path';
import { buildCsr, generateDeviceKey } from '../agent/csr.ts';
import { randomToken, sha256Hex } from '../lib/encoding.ts';
import { base64Body } from '../lib/pki/pkcs7.ts';
import { otps } from '../schema/index.ts';
import { openLocalD1 } from '../scripts/lib/local-d1.ts';
import { startLocalServer } from '../scripts/lib/local-server.ts';
import { database } from '../workers/db.ts';
import { load, table } from './lib/load.ts';

const CONCURRENCIES = [1, 4, 16];
const DURATION_MS = 3000;
const WARMUP_MS = 300;
/** OTP + CSR pairs: several times what the levels use at the rates seen locally; a drained pool shows up as errors. */
const POOL = Number(process.env.BENCH_ENROL_POOL ?? 2500);
const ROWS_PER_INSERT = 10; // D1 binds at most 100 parameters per statement

type Pair = { otp: string; csr: string };

async function makePairs(count: number): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (let i = 0; i < count; i++) {
    pairs.push({ otp: randomToken(16), csr: base64Body(await buildCsr(await generateDeviceKey(), { serial: `BENCH-${i}` })) });
  }
  return pairs;
}

/** Seeds the OTPs straight into the server's D1 before it starts, as the admin API would store them (hash only). */
async function seedOtps(ctx: { configPath: string; stateDir: string }, pairs: Pair[]): Promise<void> {
  const local = await openLocalD1(ctx);
  try {
    const db = database(local.db);
    const expiresAt = Date.now() + 3_600_000;
    const rows = await Promise.all(pairs.map(async (p) => ({ id: crypto.randomUUID(), codeHash: await sha256Hex(p.otp), expiresAt, note: 'bench' })));
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT * 50) {
      const statements = [];
      for (let j = i; j < Math.min(rows.length, i + ROWS_PER_INSERT * 50); j += ROWS_PER_INSERT) {
        statements.push(db.insert(otps).values(rows.slice(j, j + ROWS_PER_INSERT)));
      }
      const [first, ...rest] = statements;
      if (first) await db.batch([first, ...rest]);
    }
  } finally {
    await local.dispose();
  }
}

async function signRate(concurrency: number): Promise<number> {
  const { privateKey } = await generateDeviceKey();
  const data = crypto.getRandomValues(new Uint8Array(256));
  const result = await load(
    async () => {
      await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, data);
      return true;
    },
    { concurrency, durationMs: 2000, warmupMs: 200 },
  );
  return result.rps;
}

/** Runs the benchmark and prints one row per concurrency. */
export default async function provisioningBench(): Promise<void> {
  const started = performance.now();
  const pairs = await makePairs(POOL);
  console.log(`prepared ${POOL} CSRs (ECDSA P-256, @peculiar/x509) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const server = await startLocalServer({ root: path.resolve(import.meta.dirname, '..'), prepare: (ctx) => seedOtps(ctx, pairs) });
  try {
    let next = 0;
    const enrol = async () => {
      const pair = pairs[next++];
      if (!pair) return false;
      const res = await fetch(`${server.url}/.well-known/est/simpleenroll`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${pair.otp}`, 'Content-Type': 'application/pkcs10' },
        body: pair.csr,
      });
      await res.arrayBuffer();
      return res.status === 200;
    };
    // One enrolment first, so the CA is loaded and the isolate warm before anything is timed.
    if (!(await enrol())) throw new Error(`warm-up enrolment failed\n${server.output()}`);
    const staticRoute = async () => {
      const res = await fetch(`${server.url}/.well-known/est/csrattrs`);
      await res.arrayBuffer();
      return res.ok;
    };
    const rows: Record<string, string | number>[] = [];
    for (const concurrency of CONCURRENCIES) {
      const result = await load(enrol, { concurrency, durationMs: DURATION_MS, warmupMs: WARMUP_MS });
      const harness = await load(staticRoute, { concurrency, durationMs: 2000, warmupMs: 200 });
      const ceiling = await signRate(concurrency);
      rows.push({
        concurrency,
        'enrolments/s': result.rps,
        'p50 ms': result.p50,
        'p99 ms': result.p99,
        errors: result.errors,
        'static route req/s': harness.rps,
        'node ECDSA P-256 sign/s': ceiling,
        // A string: the ratio is far below the table's two decimals.
        'enrol/sign': `${((result.rps / ceiling) * 100).toFixed(2)} %`,
      });
    }
    table(rows);
    console.log(`${next} OTPs used of ${POOL}; server: wrangler dev (workerd, local D1) on 127.0.0.1, one isolate`);
  } finally {
    await server.stop();
  }
}
