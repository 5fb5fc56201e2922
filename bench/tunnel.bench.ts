import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readClaimCode } from '../agent/tunnel/device-files.ts';
import { createMultiFernet } from '../lib/fernet.ts';
import { randomToken, sha256Hex } from '../lib/encoding.ts';
import { otps } from '../schema/index.ts';
import { openLocalD1 } from '../scripts/lib/local-d1.ts';
import { freePort, startLocalServer } from '../scripts/lib/local-server.ts';
import { ensureDevVars } from '../scripts/lib/setup.ts';
import { runWrangler } from '../scripts/lib/wrangler.ts';
import { createAppClient } from '../workers/auth/store/clients.ts';
import { issueAuthCode } from '../workers/auth/store/codes.ts';
import { createUser } from '../workers/auth/store/users.ts';
import { database } from '../workers/db.ts';
import { load, table, type LoadResult } from './lib/load.ts';
import { MiB, sampleRss } from './lib/rss.ts';
import { holdFleet, type FleetResult, type Shard } from './lib/tunnel-fleet-row.ts';
import { download, get1k, newPool, upload, type Pool, type Transfer } from './lib/tunnel-transfer.ts';
import { DO_FLOOR_WORKER } from './lib/do-floor-worker.ts';
import { buildProductionBundle, GATEHOUSE_DURABLE_OBJECTS, inlineWorker, removeDir, serveOnWorkerd } from './lib/workerd.ts';

/**
 * The device tunnel (issue #6), end to end with the real parts: the production bundle on bare workerd (DeviceTunnel
 * Durable Objects, D1), the real agent CLI (`gatehouse-agent enroll` and `connect --forward`) in its own process, and a
 * local origin in a third. Every proxied figure is printed beside the same origin hit directly in the same run:
 * latency of a 1 KiB GET, requests/s at 32 connections, 100 MiB down and up (byte-checked), a 1 GiB download with the
 * agent's and workerd's memory sampled, and N devices held at once (each a real agent session in a fleet process).
 * A Worker whose Durable Object answers by itself (no tunnel) is the runtime's floor for any object-based proxy.
 * `wrangler dev` gets the latency, rate and 100 MiB rows too. The localtunnel row holds the reference figures the
 * issue gives as the ones to beat; they are printed as given, not measured here.
 *
 * Knobs: BENCH_DURATION_MS (per load row, default 5000), BENCH_TUNNEL_DEVICES (default 10000; 0 skips the row),
 * BENCH_TUNNEL_FLEET_SECONDS (longest wait for the fleet, default 300), BENCH_TUNNEL_WRANGLER_DEV=0 (skip the
 * wrangler dev rows), BENCH_TUNNEL_STREAM_MIB / BENCH_TUNNEL_BIG_MIB (100 and 1024), BENCH_WORKERD_LOG=1,
 * BENCH_AGENT_CPU_PROF=DIR (the agent writes a V8 .cpuprofile there when it stops), BENCH_WORKERD_INSPECT=PORT (workerd's
 * inspector, for a DevTools CPU profile of the Worker).
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5000);
const CONCURRENCY = 32;
const DEVICES = Number(process.env.BENCH_TUNNEL_DEVICES ?? 10_000);
const WITH_DEV = process.env.BENCH_TUNNEL_WRANGLER_DEV !== '0';
const STREAM_BYTES = Number(process.env.BENCH_TUNNEL_STREAM_MIB ?? 100) * 1024 * 1024;
const BIG_BYTES = Number(process.env.BENCH_TUNNEL_BIG_MIB ?? 1024) * 1024 * 1024;
const ENROL_CONCURRENCY = 8;
const FLEET_CONCURRENCY = 32;
/** How long the connection row may take to bring the fleet up before it reports what it reached. */
const FLEET_SECONDS = Number(process.env.BENCH_TUNNEL_FLEET_SECONDS ?? 300);

/** What the issue names as the figures to beat (localtunnel on this kind of machine); shown as given, never measured here. */
const LOCALTUNNEL = { addedP50Ms: 1.37, rps: 1340, mbPerSecond: 179.5 };

type Seeded = { clientId: string; secret: string; code: string; otps: string[] };

/** A client, a user and one authorization code for them, and `otpCount` enrolment OTPs (hash only, as the admin API stores them). */
async function seed(ctx: { configPath: string; stateDir: string }, fernetKeys: string, otpCount: number): Promise<Seeded> {
  const local = await openLocalD1(ctx);
  try {
    const db = database(local.db);
    const { client, secret } = await createAppClient(db, { name: 'tunnel bench', confidential: true, redirectUris: ['https://bench.example/cb'], allowedScopes: ['openid', 'email'], grantTypes: ['authorization_code'] });
    const id = crypto.randomUUID();
    await createUser(db, createMultiFernet(fernetKeys), {
      id, email: 'tunnel-bench@example.com', password: 'bench password long enough', status: 'CONFIRMED', emailVerified: true,
      claims: { 'x-hasura-user-id': id, 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user'] },
    });
    const code = await issueAuthCode(db, { clientId: client.id, userId: id, redirectUri: 'https://bench.example/cb', scopes: ['openid', 'email'], nonce: null, codeChallenge: null, codeChallengeMethod: null, authTime: Date.now() }, Date.now() + 3_600_000);
    const codes = Array.from({ length: otpCount }, () => randomToken(16));
    const expiresAt = Date.now() + 3_600_000;
    const rows = await Promise.all(codes.map(async (otp) => ({ id: crypto.randomUUID(), codeHash: await sha256Hex(otp), expiresAt, note: 'tunnel bench' })));
    for (let i = 0; i < rows.length; i += 500) {
      const statements = [];
      for (let j = i; j < Math.min(rows.length, i + 500); j += 10) statements.push(db.insert(otps).values(rows.slice(j, j + 10)));
      const [first, ...rest] = statements;
      if (first) await db.batch([first, ...rest]);
    }
    return { clientId: client.id, secret: secret!, code, otps: codes };
  } finally {
    await local.dispose();
  }
}

/** Runs a child process and gives its first stdout line (the origin prints its URL). */
async function startOrigin(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'lib/tunnel-origin.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`origin exited ${code}`)));
  });
  return { url, child };
}

const stopChild = async (child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  await new Promise((r) => child.once('exit', r));
};

/** One device through the real CLI: enrolled with an OTP, connected forwarding to the origin, claimed and authorized by the user. */
type Device = { deviceId: string; agent: ChildProcess; token: () => Promise<string>; stop: () => Promise<void> };

async function realDevice(url: string, origin: string, seeded: Seeded): Promise<Device> {
  const stateDir = path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-agent-')), 'state');
  const cli = path.join(ROOT, 'agent/cli.ts');
  const enrol = spawn(process.execPath, [cli, 'enroll', '--url', url, '--otp', seeded.otps.pop()!, '--state-dir', stateDir], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const enrolled = await new Promise<number | null>((r) => enrol.once('exit', r));
  if (enrolled !== 0) throw new Error(`gatehouse-agent enroll exited ${enrolled}`);
  const deviceId = (JSON.parse(readFileSync(path.join(stateDir, 'device.json'), 'utf8')) as { deviceId: string }).deviceId;
  // The CLI's `connect` (or, where agent/commands.ts does not list it yet, the same command module through
  // bench/lib/agent-connect.ts). It logs one line per proxied request, as users run it; the lines go to a pipe
  // that is drained and dropped.
  const { COMMANDS } = await import('../agent/commands.ts');
  const connectArgv = COMMANDS.some((c) => c.name === 'connect') ? [cli, 'connect'] : [path.join(import.meta.dirname, 'lib/agent-connect.ts')];
  const profile = process.env.BENCH_AGENT_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_AGENT_CPU_PROF}`] : [];
  const agent = spawn(process.execPath, [...profile, ...connectArgv, '--url', url, '--forward', origin, '--state-dir', stateDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  agent.stdout!.resume();
  const deadline = Date.now() + 20_000;
  while (!readClaimCode(stateDir)) {
    if (Date.now() > deadline || agent.exitCode !== null) throw new Error('the agent got no claim code');
    await sleep(50);
  }
  const claimCode = readClaimCode(stateDir)!.code;
  const tokenRes = await fetch(`${url}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${btoa(`${seeded.clientId}:${seeded.secret}`)}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: seeded.code, redirect_uri: 'https://bench.example/cb' }),
  });
  if (tokenRes.status !== 200) throw new Error(`token exchange: ${tokenRes.status} ${await tokenRes.text()}`);
  const user = ((await tokenRes.json()) as { access_token: string }).access_token;
  const asUser = (p: string, body?: object) =>
    fetch(`${url}${p}`, { method: 'POST', headers: { Authorization: `Bearer ${user}`, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : null });
  const claimed = await asUser('/api/devices/claim', { claimCode });
  if (!claimed.ok) throw new Error(`claim: ${claimed.status} ${await claimed.text()}`);
  // The Authorizer's tokens live a few minutes: each phase asks for a fresh one.
  const token = async () => {
    const res = await asUser(`/api/devices/${deviceId}/authorize`);
    if (!res.ok) throw new Error(`authorize: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { token: string }).token;
  };
  return { deviceId, agent, token, stop: async () => (await stopChild(agent), removeDir(path.dirname(stateDir))) };
}

type Path = { name: string; pool: Pool; base: string; headers: () => Promise<Record<string, string>> };

type Measured = { latency: LoadResult; rate: LoadResult; down: Transfer; up: Transfer };

async function measurePath(p: Path): Promise<Measured> {
  const headers = await p.headers();
  console.log(`  ${p.name}: 1 KiB GETs…`);
  const latency = await load(() => get1k(p.pool, `${p.base}/1k`, headers), { concurrency: 1, durationMs: DURATION_MS });
  const rate = await load(() => get1k(p.pool, `${p.base}/1k`, headers), { concurrency: CONCURRENCY, durationMs: DURATION_MS });
  const fresh = await p.headers();
  console.log(`  ${p.name}: ${Math.round(latency.rps)} req/s at 1, ${Math.round(rate.rps)} req/s at ${CONCURRENCY}; ${STREAM_BYTES / 1024 / 1024} MiB down…`);
  const down = await download(p.pool, `${p.base}/bytes`, fresh, STREAM_BYTES);
  console.log(`  ${p.name}: down ${mbps(STREAM_BYTES, down.seconds).toFixed(1)} MB/s ${down.ok ? 'ok' : `FAILED: ${down.failure ?? 'bytes differ'}`}; ${STREAM_BYTES / 1024 / 1024} MiB up…`);
  const up = await upload(p.pool, `${p.base}/upload`, fresh, STREAM_BYTES);
  console.log(`  ${p.name}: up ${mbps(STREAM_BYTES, up.seconds).toFixed(1)} MB/s ${up.ok ? 'ok' : `FAILED: ${up.failure ?? 'bytes differ'}`}`);
  return { latency, rate, down, up };
}

const mbps = (bytes: number, seconds: number) => bytes / 1e6 / seconds;

const isTunnel = (what: string) => what.startsWith('through the tunnel');

const latencyRow = (what: string, runtime: string, m: Measured, direct?: Measured) => ({
  path: what,
  runtime,
  'p50 ms': m.latency.p50,
  'p99 ms': m.latency.p99,
  'added p50 ms': direct ? m.latency.p50 - direct.latency.p50 : '',
  [`req/s @${CONCURRENCY}`]: Math.round(m.rate.rps),
  [`p50 ms @${CONCURRENCY}`]: m.rate.p50,
  errors: m.latency.errors + m.rate.errors,
  'added p50 vs localtunnel': direct && isTunnel(what) ? `${((m.latency.p50 - direct.latency.p50) / LOCALTUNNEL.addedP50Ms).toFixed(2)}x` : '',
  'req/s vs localtunnel': direct && isTunnel(what) ? `${(m.rate.rps / LOCALTUNNEL.rps).toFixed(2)}x` : '',
});

const streamRows = (what: string, runtime: string, m: Measured) =>
  (['down', 'up'] as const).map((dir) => ({
    transfer: `${STREAM_BYTES / 1024 / 1024} MiB ${dir === 'down' ? 'download' : 'upload'}`,
    path: what,
    runtime,
    seconds: m[dir].seconds,
    'MB/s': m[dir].ok ? mbps(STREAM_BYTES, m[dir].seconds) : 'failed',
    'byte-exact': m[dir].ok ? 'yes' : `NO (${m[dir].failure ?? 'bytes differ'})`,
    'vs localtunnel': !isTunnel(what) ? '' : `${(mbps(STREAM_BYTES, m[dir].seconds) / LOCALTUNNEL.mbPerSecond).toFixed(2)}x`,
  }));

export default async function tunnelBench(): Promise<void> {
  const configPath = path.join(ROOT, 'wrangler.toml');
  console.log(`device tunnel: client → Gatehouse (/devices/:id/proxy) → agent (gatehouse-agent connect) → origin, all on loopback; ${DURATION_MS / 1000} s per load row; ${DEVICES.toLocaleString('en-US')} devices for the connection row\n`);
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-tunnel-'));
  const { values: secrets } = await ensureDevVars(path.join(dir, '.dev.vars'), path.join(dir, 'root.key'));
  const stateDir = path.join(dir, 'state');
  await runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '-c', configPath, '--persist-to', stateDir], { cwd: ROOT });
  const seeded = await seed({ configPath, stateDir }, secrets.CLAIMS_FERNET_KEYS!, DEVICES + 1);
  const bundle = await buildProductionBundle(ROOT);
  const origin = await startOrigin();
  const latencyRows: Record<string, string | number>[] = [];
  const streams: Record<string, string | number>[] = [];
  const big: Record<string, string | number>[] = [];
  let fleet: FleetResult | undefined;
  const directPool = await newPool(origin.url, CONCURRENCY);
  try {
    const direct = await measurePath({ name: 'direct', pool: directPool, base: '', headers: async () => ({}) });
    latencyRows.push(latencyRow('direct to origin', 'node:http', direct));
    streams.push(...streamRows('direct', 'node:http', direct));

    // The runtime's floor: Worker → Durable Object → answer, no tunnel (bench/lib/do-floor-worker.ts).
    const floorServer = await serveOnWorkerd({ script: inlineWorker(DO_FLOOR_WORKER), platform: { configPath, stateDir, durableObjects: ['Floor'] } });
    const floorPool = await newPool(floorServer.url, CONCURRENCY);
    try {
      const floor = await measurePath({ name: 'floor', pool: floorPool, base: '', headers: async () => ({}) });
      latencyRows.push(latencyRow('Worker → DO answers (floor, no tunnel)', 'workerd', floor, direct));
      streams.push(...streamRows('Worker → DO answers (floor, no tunnel)', 'workerd', floor).map((r) => (r.transfer.endsWith('upload') ? { ...r, 'byte-exact': 'counted only' } : r)));
    } finally {
      await floorPool.close();
      await floorServer.stop();
    }

    // Gatehouse's production bundle on bare workerd.
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const vars = { PUBLIC_URL: url, ISSUER: url, USER_POOL_ID: 'local-1_gatehouse', HASURA_CLAIMS_FORMAT: 'stringified_json', HASURA_CLAIMS_IN_ACCESS_TOKEN: 'true', GROUP_ROLE_MAP: '{}' };
    const gh = await serveOnWorkerd({ script: bundle.entry, port, bindings: { ...vars, ...secrets }, platform: { configPath, stateDir, durableObjects: [...GATEHOUSE_DURABLE_OBJECTS, 'OrgLog'] } });
    const pool = await newPool(url, CONCURRENCY);
    try {
      const device = await realDevice(url, origin.url, seeded);
      try {
        const proxied = { name: 'proxied', pool, base: `/devices/${device.deviceId}/proxy`, headers: async () => ({ 'x-device-access-token': await device.token() }) };
        const m = await measurePath(proxied);
        latencyRows.push(latencyRow('through the tunnel', 'workerd (bundle)', m, direct));
        streams.push(...streamRows('through the tunnel', 'workerd (bundle)', m));

        // 1 GiB through the tunnel while sampling the memory of the agent and of workerd.
        const headers = await proxied.headers();
        const sample = sampleRss({ agent: device.agent.pid!, workerd: gh.pid });
        const d = await download(pool, `${proxied.base}/bytes`, headers, BIG_BYTES);
        const rss = sample();
        big.push(
          { process: 'agent (gatehouse-agent connect)', 'RSS before': MiB(rss.start.agent!), 'peak RSS during': MiB(rss.peak.agent!), 'RSS after': MiB(rss.end.agent!), 'MB/s': d.ok ? mbps(BIG_BYTES, d.seconds) : 'failed', 'byte-exact': d.ok ? 'yes' : `NO (${d.failure ?? 'bytes differ'})` },
          { process: 'workerd (Gatehouse bundle)', 'RSS before': MiB(rss.start.workerd!), 'peak RSS during': MiB(rss.peak.workerd!), 'RSS after': MiB(rss.end.workerd!), 'MB/s': d.ok ? mbps(BIG_BYTES, d.seconds) : 'failed', 'byte-exact': d.ok ? 'yes' : `NO (${d.failure ?? 'bytes differ'})` },
        );
      } finally {
        await device.stop();
      }
      if (DEVICES > 0) {
        console.log(`holding ${DEVICES.toLocaleString('en-US')} device tunnels…`);
        // More workerd processes for the fleet, each over a snapshot of the database as enrolment left it.
        const startShard = async (): Promise<Shard> => {
          const shardPort = await freePort();
          const shardUrl = `http://127.0.0.1:${shardPort}`;
          const shardState = path.join(dir, `state-${shardPort}`);
          cpSync(stateDir, shardState, { recursive: true });
          const shardVars = { ...vars, PUBLIC_URL: shardUrl, ISSUER: shardUrl };
          const server = await serveOnWorkerd({ script: bundle.entry, port: shardPort, bindings: { ...shardVars, ...secrets }, platform: { configPath, stateDir: shardState, durableObjects: [...GATEHOUSE_DURABLE_OBJECTS, 'OrgLog'] } });
          return { url: shardUrl, pid: server.pid, stop: server.stop };
        };
        fleet = await holdFleet({ url, pid: gh.pid }, startShard, origin.url, seeded.otps, DEVICES, { concurrency: FLEET_CONCURRENCY, deadlineSeconds: FLEET_SECONDS, enrolConcurrency: ENROL_CONCURRENCY });
      }
    } finally {
      await pool.close();
      await gh.stop();
    }

    if (WITH_DEV) {
      let devSeed: Seeded | undefined;
      const dev = await startLocalServer({ root: ROOT, prepare: async (ctx) => void (devSeed = await seed(ctx, ctx.secrets.CLAIMS_FERNET_KEYS!, 1)) });
      const devPool = await newPool(dev.url, CONCURRENCY);
      try {
        const device = await realDevice(dev.url, origin.url, devSeed!);
        try {
          const m = await measurePath({ name: 'proxied', pool: devPool, base: `/devices/${device.deviceId}/proxy`, headers: async () => ({ 'x-device-access-token': await device.token() }) });
          latencyRows.push(latencyRow('through the tunnel', 'wrangler dev', m, direct));
          streams.push(...streamRows('through the tunnel', 'wrangler dev', m));
        } finally {
          await device.stop();
        }
      } finally {
        await devPool.close();
        await dev.stop();
      }
    }
  } finally {
    await directPool.close();
    origin.child.stdin?.end();
    await stopChild(origin.child);
    removeDir(bundle.dir);
    removeDir(dir);
  }
  latencyRows.push({ path: 'localtunnel (reference, as given)', runtime: 'not measured here', 'p50 ms': '', 'p99 ms': '', 'added p50 ms': LOCALTUNNEL.addedP50Ms, [`req/s @${CONCURRENCY}`]: LOCALTUNNEL.rps, [`p50 ms @${CONCURRENCY}`]: '', errors: '', 'added p50 vs localtunnel': '1.00x', 'req/s vs localtunnel': '1.00x' });
  streams.push({ transfer: 'streaming', path: 'localtunnel (reference, as given)', runtime: 'not measured here', seconds: '', 'MB/s': LOCALTUNNEL.mbPerSecond, 'byte-exact': '', 'vs localtunnel': '1.00x' });

  console.log(`\n1 KiB GET: latency with one request at a time, rate with ${CONCURRENCY} keep-alive connections (target: under 2 ms added at p50)`);
  table(latencyRows);
  console.log('\nStreaming (target: at least 100 MB/s; MB = 10^6 bytes)');
  table(streams);
  console.log(`\n${BIG_BYTES / 1024 / 1024} MiB download through the tunnel (workerd), memory sampled every 50 ms`);
  table(big);
  if (fleet) {
    const kib = (bytes: number, devices: number) => (devices > 0 ? (bytes - fleet.workerd.before) / devices / 1024 : 'n/a (none up)');
    console.log(`\nConcurrent device tunnels on workerd (target: 10,000), each a real agent session, ${FLEET_CONCURRENCY} connecting at a time, at most ${FLEET_SECONDS} s${fleet.shards > 1 ? `; spread over ${fleet.shards} workerd processes (open-file limit), their memory summed` : ''}`);
    table([
      {
        devices: fleet.n,
        'workerd processes': fleet.shards,
        'ever up (token received)': fleet.ready,
        'up at end': fleet.up,
        'up after 15 s idle': fleet.upAfterIdle,
        'refused attempts': fleet.refused,
        seconds: fleet.seconds,
        'connects/s': fleet.ready / fleet.seconds,
        'workerd RSS before': MiB(fleet.workerd.before),
        'workerd RSS at end': MiB(fleet.workerd.ready),
        'most up at once': fleet.peakUp,
        'workerd RSS then': MiB(fleet.rssAtPeak),
        'KiB/device then': kib(fleet.rssAtPeak, fleet.peakUp),
        'KiB/device up at end': kib(fleet.workerd.ready, fleet.up),
        'workerd RSS after 15 s idle': MiB(fleet.workerd.idle),
        'KiB/device up after idle': kib(fleet.workerd.idle, fleet.upAfterIdle),
        'fleet agents RSS': MiB(fleet.fleetRss),
      },
    ]);
    for (const [why, n] of fleet.reasonsAfterIdle) console.log(`  ${n.toLocaleString('en-US')} × ${why}`);
  }
  console.log('\nAll processes share two cores: the client, workerd, the agent and the origin each take CPU from the others, so the direct row is the same origin under the same client.');
}
