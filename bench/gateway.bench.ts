import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { createMultiFernet } from '../lib/fernet.ts';
import { databaseIdOf, openLocalD1 } from '../scripts/lib/local-d1.ts';
import { freePort } from '../scripts/lib/local-server.ts';
import { ensureDevVars } from '../scripts/lib/setup.ts';
import { runWrangler } from '../scripts/lib/wrangler.ts';
import { createAppClient } from '../workers/auth/store/clients.ts';
import { issueAuthCode } from '../workers/auth/store/codes.ts';
import { createUser } from '../workers/auth/store/users.ts';
import { database } from '../workers/db.ts';
import { httpClient, load, table, type LoadResult } from './lib/load.ts';
import { buildProductionBundle, inlineWorker, removeDir } from './lib/workerd.ts';

/**
 * The gateway's cost on `POST /v1/graphql`: the same upstream measured directly and through Gatehouse, in one run.
 * The upstream is a small Node HTTP server that reads the body and answers a fixed GraphQL result, so the figures are
 * the proxy's own work: bearer verification (RS256, revoked-family lookup in D1), per-IP and per-subject limits (two
 * RATE_LIMITER Durable Object calls), header rules and one streamed upstream fetch. Gatehouse runs as its production
 * bundle on workerd (through Miniflare, which allows the loopback fetch) with its D1 and Durable Objects; a bare
 * forwarding Worker on the same runtime is the baseline for the runtime's own cost of one proxied fetch.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5000);
const QUERY = JSON.stringify({ query: 'query Me { me { id name devices { id online } } }' });
const RESULT = JSON.stringify({ data: { me: { id: '42', name: 'Bench', devices: [{ id: 'd1', online: true }, { id: 'd2', online: false }] } } });

/** The stand-in upstream: reads the whole request body, then answers the fixed result. */
function startUpstream(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(RESULT) }).end(RESULT));
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

/** Seeds a client and a user with Hasura claims, and returns authorization codes for them (one per gateway run). */
async function seed(configPath: string, stateDir: string, fernetKeys: string, count: number): Promise<{ clientId: string; secret: string; codes: string[] }> {
  const local = await openLocalD1({ configPath, stateDir });
  try {
    const db = database(local.db);
    const { client, secret } = await createAppClient(db, { name: 'bench', confidential: true, redirectUris: ['https://bench.example/cb'], allowedScopes: ['openid', 'email'], grantTypes: ['authorization_code', 'refresh_token'] });
    const id = crypto.randomUUID();
    await createUser(db, createMultiFernet(fernetKeys), {
      id, email: 'gateway-bench@example.com', password: 'bench password long enough', status: 'CONFIRMED', emailVerified: true,
      claims: { 'x-hasura-user-id': id, 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user'] },
    });
    const codes: string[] = [];
    for (let i = 0; i < count; i++) {
      codes.push(await issueAuthCode(db, { clientId: client.id, userId: id, redirectUri: 'https://bench.example/cb', scopes: ['openid', 'email'], nonce: null, codeChallenge: null, codeChallengeMethod: null, authTime: Date.now() }, Date.now() + 3_600_000));
    }
    return { clientId: client.id, secret: secret!, codes };
  } finally {
    await local.dispose();
  }
}

/**
 * Serves a bundle on workerd through Miniflare, which lets the Worker fetch 127.0.0.1 (the upstream); `platform` adds
 * Gatehouse's D1 and both Durable Objects (the limiter included).
 */
async function serveWithOutbound(script: string, bindings: Record<string, string>, platform?: { configPath: string; stateDir: string }): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: '127.0.0.1',
      port,
      modules: [{ type: 'ESModule', path: script }],
      modulesRoot: path.dirname(script),
      compatibilityDate: '2026-11-01',
      bindings,
      // The Worker's request logs are dropped: the benchmark's own process must not spend its time printing them.
      handleRuntimeStdio: (stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) => {
        stdout.resume();
        stderr.resume();
      },
      handleStructuredLogs: () => {},
      ...(platform
        ? {
            d1Databases: { DB: databaseIdOf(platform.configPath) },
            durableObjects: { DEVICE_TUNNEL: 'DeviceTunnel', RATE_LIMITER: 'RateLimiter' },
            resourcePersistencePath: path.join(platform.stateDir, 'v3'),
          }
        : {}),
    }),
  );
  await mf.ready;
  return { url: `http://127.0.0.1:${port}`, stop: () => mf.dispose() };
}

async function measure(origin: string, pathname: string, token: string): Promise<LoadResult> {
  const http = await httpClient(origin, CONCURRENCY);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  try {
    const probe = await http.request(pathname, { method: 'POST', headers, body: QUERY });
    if (probe.status !== 200 || probe.text !== RESULT) throw new Error(`${origin}${pathname} answered ${probe.status}: ${probe.text.slice(0, 200)}`);
    return await load(async () => (await http.request(pathname, { method: 'POST', headers, body: QUERY })).status === 200, { concurrency: CONCURRENCY, durationMs: DURATION_MS });
  } finally {
    await http.close();
  }
}

export default async function gatewayBench(): Promise<void> {
  const configPath = path.join(ROOT, 'wrangler.toml');
  console.log(`POST /v1/graphql: ${CONCURRENCY} concurrent keep-alive connections, ${DURATION_MS / 1000} s per row, loopback\n`);
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-gateway-'));
  const { values: secrets } = await ensureDevVars(path.join(dir, '.dev.vars'), path.join(dir, 'root.key'));
  const stateDir = path.join(dir, 'state');
  await runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '-c', configPath, '--persist-to', stateDir], { cwd: ROOT });
  const seeded = await seed(configPath, stateDir, secrets.CLAIMS_FERNET_KEYS!, 3);
  const bundle = await buildProductionBundle(ROOT);
  const upstream = await startUpstream();
  const rows: Record<string, string | number>[] = [];
  try {
    const vars = {
      PUBLIC_URL: 'http://127.0.0.1', ISSUER: 'http://127.0.0.1', USER_POOL_ID: 'local-1_gatehouse', HASURA_CLAIMS_FORMAT: 'stringified_json', HASURA_CLAIMS_IN_ACCESS_TOKEN: 'true', GROUP_ROLE_MAP: '{}',
      HASURA_GRAPHQL_URL: `${upstream.url}/v1/graphql`, MAX_BODY_BYTES: '1048576',
    };
    const direct = await measure(upstream.url, '/v1/graphql', 'direct');
    const variants: [string, Record<string, string>][] = [
      // Limits high enough never to refuse, so each request pays for both limiter calls.
      ['through gateway (limits on)', { RATE_LIMIT_PER_SUBJECT: '100000000/60', RATE_LIMIT_PER_IP: '100000000/60' }],
      ['through gateway (limits off)', { RATE_LIMIT_PER_SUBJECT: 'off', RATE_LIMIT_PER_IP: 'off' }],
      ['gateway, limits off, revocation cached 30 s', { RATE_LIMIT_PER_SUBJECT: 'off', RATE_LIMIT_PER_IP: 'off', REVOCATION_CACHE_SECONDS: '30' }],
    ];
    const row = (name: string, r: LoadResult) => ({
      path: name, 'req/s': Math.round(r.rps), 'p50 ms': r.p50, 'p99 ms': r.p99, errors: r.errors,
      'added p50 ms': r === direct ? '' : r.p50 - direct.p50, 'added p99 ms': r === direct ? '' : r.p99 - direct.p99, 'throughput vs direct': `${(r.rps / direct.rps).toFixed(2)}x`,
    });
    rows.push(row('upstream direct', direct));
    // The runtime's own cost of one proxied fetch: a bare Worker that forwards the request and nothing else.
    const bare = await serveWithOutbound(inlineWorker('export default { fetch(req, env) { return fetch(env.UPSTREAM, { method: req.method, headers: req.headers, body: req.body }); } };'), {
      UPSTREAM: `${upstream.url}/v1/graphql`,
    });
    rows.push(row('bare proxy Worker (baseline)', await measure(bare.url, '/v1/graphql', 'direct')));
    await bare.stop();
    for (const [name, extra] of variants) {
      const gh = await serveWithOutbound(bundle.entry, { ...vars, ...extra, ...secrets }, { configPath, stateDir });
      try {
        const tokenRes = await fetch(`${gh.url}/oauth2/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${btoa(`${seeded.clientId}:${seeded.secret}`)}` },
          body: new URLSearchParams({ grant_type: 'authorization_code', code: seeded.codes.pop()!, redirect_uri: 'https://bench.example/cb' }),
        });
        const tokens = (await tokenRes.json()) as { access_token?: string };
        if (!tokens.access_token) throw new Error(`token exchange failed: ${tokenRes.status}`);
        const r = await measure(gh.url, '/v1/graphql', tokens.access_token);
        rows.push(row(name, r));
      } finally {
        await gh.stop();
      }
    }
  } finally {
    upstream.server.closeAllConnections();
    upstream.server.close();
    removeDir(bundle.dir);
    removeDir(dir);
  }
  table(rows);
  console.log('\nThe gateway verifies an RS256 access token, looks its family up in D1, calls the limiter twice (limits on) and streams the upstream answer back.');
}
