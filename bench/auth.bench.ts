import path from 'node:path';
import { ensureDevVars } from '../scripts/lib/setup.ts';
import { openLocalD1 } from '../scripts/lib/local-d1.ts';
import { runWrangler } from '../scripts/lib/wrangler.ts';
import { startLocalServer } from '../scripts/lib/local-server.ts';
import { createMultiFernet } from '../lib/fernet.ts';
import { createAppClient } from '../workers/auth/store/clients.ts';
import { issueAuthCode } from '../workers/auth/store/codes.ts';
import { createUser } from '../workers/auth/store/users.ts';
import { database } from '../workers/db.ts';
import { httpClient, load, table, type LoadResult } from './lib/load.ts';
import { buildProductionBundle, bundleWorker, inlineWorker, removeDir, serveOnWorkerd } from './lib/workerd.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

/**
 * Token endpoint throughput and latency. Baselines in the same run and the same harness: a no-op Worker and a bare
 * Worker that signs one RS256 JWT. Gatehouse runs as its production bundle (`wrangler deploy --dry-run`) on bare workerd (generated config, bench/lib/d1-shim.js for D1),
 * and again under `wrangler dev` for comparison.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5000);
const CHAINS = CONCURRENCY;

type Seeded = { clientId: string; secret: string; codes: string[] };

async function seed(configPath: string, stateDir: string, fernetKeys: string): Promise<Seeded> {
  const local = await openLocalD1({ configPath, stateDir });
  try {
    const db = database(local.db);
    const { client, secret } = await createAppClient(db, {
      name: 'bench',
      confidential: true,
      redirectUris: ['https://bench.example/cb'],
      allowedScopes: ['openid', 'email', 'api/read'],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    });
    const id = crypto.randomUUID();
    await createUser(db, createMultiFernet(fernetKeys), {
      id,
      email: 'bench@example.com',
      password: 'bench password long enough',
      status: 'CONFIRMED',
      emailVerified: true,
      groups: ['staff'],
      claims: { 'x-hasura-user-id': id, 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user'] },
    });
    const codes: string[] = [];
    for (let i = 0; i < CHAINS * 4; i++) {
      codes.push(await issueAuthCode(db, { clientId: client.id, userId: id, redirectUri: 'https://bench.example/cb', scopes: ['openid', 'email'], nonce: null, codeChallenge: null, codeChallengeMethod: null, authTime: Date.now() }, Date.now() + 3_600_000));
    }
    return { clientId: client.id, secret: secret!, codes };
  } finally {
    await local.dispose();
  }
}

const form = (body: Record<string, string>, s: Seeded) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${btoa(`${s.clientId}:${s.secret}`)}` },
  body: new URLSearchParams(body).toString(),
});

/** Measures client_credentials and refresh_token (each request follows a rotation chain no other request holds). */
async function measureGatehouse(url: string, s: Seeded): Promise<{ cc: LoadResult; refresh: LoadResult }> {
  const http = await httpClient(url, CONCURRENCY);
  try {
    const cc = await load(async () => (await http.request('/oauth2/token', form({ grant_type: 'client_credentials', scope: 'api/read' }, s))).status === 200, { concurrency: CONCURRENCY, durationMs: DURATION_MS });
    const idle: string[] = [];
    for (let i = 0; i < CHAINS; i++) {
      const res = await http.request('/oauth2/token', form({ grant_type: 'authorization_code', code: s.codes.pop()!, redirect_uri: 'https://bench.example/cb' }, s));
      idle.push((JSON.parse(res.text) as { refresh_token: string }).refresh_token);
    }
    const refresh = await load(
      async () => {
        const token = idle.pop();
        if (!token) return false;
        const res = await http.request('/oauth2/token', form({ grant_type: 'refresh_token', refresh_token: token }, s));
        if (res.status !== 200) return false;
        idle.push((JSON.parse(res.text) as { refresh_token: string }).refresh_token);
        return true;
      },
      { concurrency: CHAINS, durationMs: DURATION_MS },
    );
    return { cc, refresh };
  } finally {
    await http.close();
  }
}

/** Requests/s of a plain GET against a baseline Worker. */
async function measureGet(url: string): Promise<LoadResult> {
  const http = await httpClient(url, CONCURRENCY);
  try {
    return await load(async () => (await http.request('/')).status === 200, { concurrency: CONCURRENCY, durationMs: DURATION_MS });
  } finally {
    await http.close();
  }
}

const row = (what: string, runtime: string, r: LoadResult, base?: LoadResult) => ({
  what,
  runtime,
  'req/s': Math.round(r.rps),
  'p50 ms': r.p50,
  'p99 ms': r.p99,
  errors: r.errors,
  'vs bare signer': base ? `${(r.rps / base.rps).toFixed(2)}x` : '',
});

export default async function authBench(): Promise<void> {
  const configPath = path.join(ROOT, 'wrangler.toml');
  console.log(`token endpoint: ${CONCURRENCY} concurrent loops, ${DURATION_MS / 1000} s per row, loopback\n`);
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-auth-'));
  const { values: secrets } = await ensureDevVars(path.join(dir, '.dev.vars'), path.join(dir, 'root.key'));
  const stateDir = path.join(dir, 'state');
  await runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '-c', configPath, '--persist-to', stateDir], { cwd: ROOT });
  const seeded = await seed(configPath, stateDir, secrets.CLAIMS_FERNET_KEYS!);
  const bundle = await buildProductionBundle(ROOT);
  const rows: Record<string, string | number>[] = [];
  try {
    const noop = await serveOnWorkerd({ script: inlineWorker('export default { fetch() { return new Response("ok"); } };') });
    const noopResult = await measureGet(noop.url);
    await noop.stop();
    const signer = await serveOnWorkerd({ script: await bundleWorker(path.join(import.meta.dirname, 'lib/signer-worker.ts')), bindings: { JWT_SIGNING_KEYS: secrets.JWT_SIGNING_KEYS! } });
    const bare = await measureGet(signer.url);
    await signer.stop();
    rows.push(row('no-op Worker', 'workerd', noopResult), row('bare RS256 signer', 'workerd', bare, bare));

    const vars = { PUBLIC_URL: 'http://127.0.0.1', ISSUER: 'http://127.0.0.1', DEV_MODE: 'true', HASURA_CLAIMS_FORMAT: 'stringified_json', HASURA_CLAIMS_IN_ACCESS_TOKEN: 'true', GROUP_ROLE_MAP: '{}', USER_POOL_ID: 'local-1_gatehouse' };
    const gh = await serveOnWorkerd({ script: bundle.entry, bindings: { ...vars, ...secrets }, platform: { configPath, stateDir, durableObjects: ['DeviceTunnel', 'RateLimiter'] } });
    const onWorkerd = await measureGatehouse(gh.url, seeded);
    await gh.stop();
    rows.push(row('token: client_credentials', 'workerd (bundle)', onWorkerd.cc, bare), row('token: refresh_token', 'workerd (bundle)', onWorkerd.refresh, bare));

    // wrangler dev gets its own state, seeded before it starts (two processes must not open one SQLite file at once).
    let devSeed: Seeded | undefined;
    const dev = await startLocalServer({ root: ROOT, prepare: async (ctx) => {
      devSeed = await seed(ctx.configPath, ctx.stateDir, ctx.secrets.CLAIMS_FERNET_KEYS!);
    } });
    try {
      const onDev = await measureGatehouse(dev.url, devSeed!);
      rows.push(row('token: client_credentials', 'wrangler dev', onDev.cc, bare), row('token: refresh_token', 'wrangler dev', onDev.refresh, bare));
    } finally {
      await dev.stop();
    }
  } finally {
    removeDir(bundle.dir);
    removeDir(dir);
  }
  table(rows);
  console.log('\nrefresh_token signs two JWTs (ID and access) and makes three D1 round trips (rotate, one batched read, insert); client_credentials signs one JWT (the client comes from a 5 s per-isolate cache). D1 under workerd here is local SQLite in a Durable Object, so its CPU cost is counted; in production it is a network hop.');
}
