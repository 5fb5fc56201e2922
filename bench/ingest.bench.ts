/**
 * Event ingest: events per second through `POST /device-api/v1/events`, batches of 100 end-to-end encrypted events
 * (compact JWEs made once beforehand: encryption is the device's cost), from 20 devices of one organisation. Gatehouse
 * runs as its production bundle on bare workerd with its D1 and Durable Objects. Each request pays for: the device
 * token (RS256) and its certificate lookup, the per-device limiter call (limits on), the device's organisation and keys
 * (one D1 query), 100 JWE header checks, one D1 batch of 100 `INSERT … ON CONFLICT DO NOTHING RETURNING`, and the
 * OrgLog poke. Baseline in the same run: a bare Worker that writes the same 100 rows in one D1 batch, nothing else.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CompactEncrypt, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { createMultiFernet } from '../lib/fernet.ts';
import { checkPublicJwk } from '../lib/records/jwk.ts';
import { deviceCertificates, devices } from '../schema/index.ts';
import { openLocalD1 } from '../scripts/lib/local-d1.ts';
import { ensureDevVars } from '../scripts/lib/setup.ts';
import { runWrangler } from '../scripts/lib/wrangler.ts';
import { createUser } from '../workers/auth/store/users.ts';
import { database } from '../workers/db.ts';
import { assignDeviceToOrg } from '../workers/orgs/device-store.ts';
import { registerKey } from '../workers/orgs/key-store.ts';
import { createOrg } from '../workers/orgs/org-store.ts';
import { httpClient, load, table, type LoadResult } from './lib/load.ts';
import { buildProductionBundle, GATEHOUSE_DURABLE_OBJECTS, inlineWorker, removeDir, serveOnWorkerd } from './lib/workerd.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5000);
const BATCH = 100;
const DEVICES = 20;
const ORIGIN = 'http://127.0.0.1';

/** Seeds an organisation with an encryption key and DEVICES devices in it; returns their ids and the key's kid. */
async function seed(configPath: string, stateDir: string, fernetKeys: string, encJwk: JWK & { kid: string }) {
  const local = await openLocalD1({ configPath, stateDir });
  try {
    const db = database(local.db);
    const userId = crypto.randomUUID();
    await createUser(db, createMultiFernet(fernetKeys), { id: userId, email: 'ingest-bench@example.com', password: 'bench password long enough', status: 'CONFIRMED', emailVerified: true, groups: [], claims: {} });
    const { org } = await createOrg(db, { name: 'bench' }, { actor: userId });
    const checked = checkPublicJwk(encJwk, 'enc');
    if (!checked.ok) throw new Error('bench key refused');
    await registerKey(db, org.id, checked.jwk, { actor: userId });
    const ids: string[] = [];
    const now = Date.now();
    for (let i = 0; i < DEVICES; i++) {
      const id = crypto.randomUUID();
      const serial = crypto.randomUUID().replace(/-/g, '');
      await db.insert(devices).values({ id, status: 'claimed' });
      await db.insert(deviceCertificates).values({ serial, deviceId: id, fingerprint: serial + serial, notBefore: now - 1000, notAfter: now + 86_400_000, pem: 'bench' });
      await assignDeviceToOrg(db, id, org.id, { actor: 'bench' });
      ids.push(id);
    }
    return { orgId: org.id, deviceIds: ids };
  } finally {
    await local.dispose();
  }
}

async function deviceToken(signingKeys: string, deviceId: string): Promise<string> {
  const jwk = (JSON.parse(signingKeys) as { keys: (JWK & { kid: string })[] }).keys[0]!;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ token_use: 'device' }).setProtectedHeader({ alg: 'RS256', kid: jwk.kid }).setIssuer(ORIGIN).setAudience('device-api').setSubject(deviceId).setIssuedAt(now).setExpirationTime(now + 3600).sign(await importJWK(jwk, 'RS256'));
}

/** Posts batches of 100 events with fresh ids (`fresh`) or the same batch again and again (duplicates). */
/** The first few failed answers, printed under the table. */
const failures: string[] = [];

async function measure(origin: string, tokens: string[], payload: string, mode: 'fresh' | 'duplicate'): Promise<LoadResult> {
  const http = await httpClient(origin, CONCURRENCY);
  let n = 0;
  const batchOf = (prefix: string) => JSON.stringify({ events: Array.from({ length: BATCH }, (_, i) => ({ id: `${prefix}-${i}`, type: 'sensor.reading', time: '2026-11-25T08:00:00.000Z', payload })) });
  const fixed = batchOf(`dup-${crypto.randomUUID().slice(0, 8)}`);
  const post = async () => {
    const k = n++;
    const token = tokens[k % tokens.length]!;
    const res = await http.request('/device-api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: mode === 'fresh' ? batchOf(`b${k}-${crypto.randomUUID().slice(0, 8)}`) : fixed });
    const ok = res.status === 200 && res.text.includes(mode === 'fresh' ? '"stored"' : '"duplicate"') && !res.text.includes('"rejected"');
    if (!ok) failures.push(`${res.status} ${res.text.slice(0, 160)}`);
    return ok;
  };
  try {
    // Uniqueness is per (device, id): store the fixed batch once per device first, so every measured answer is a duplicate.
    if (mode === 'duplicate') for (const token of tokens) await http.request('/device-api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: fixed });
    if (!(await post()) && mode === 'fresh') throw new Error(`probe failed: ${(await http.request('/device-api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` }, body: batchOf('probe') })).text.slice(0, 300)}`);
    return await load(post, { concurrency: CONCURRENCY, durationMs: DURATION_MS });
  } finally {
    await http.close();
  }
}

// The baseline: the same 100 rows per request, written by a Worker that checks nothing.
const RAW_WORKER = `export default { async fetch(req, env) {
  if (new URL(req.url).pathname === '/health') return new Response('ok');
  const { events } = await req.json(); const now = Date.now();
  const sql = "INSERT INTO records (id, kind, org_id, device_id, type, time, payload_format, payload, enc_kid, size, received_at) VALUES (?, 'event', ?, ?, ?, ?, 'jwe', ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING seq";
  const rows = await env.DB.batch(events.map((e) => env.DB.prepare(sql).bind(e.id, env.ORG_ID, env.DEVICE_ID, e.type, e.time, e.payload, env.KID, e.payload.length, now)));
  return new Response(JSON.stringify({ results: rows.map((r) => ({ status: r.results.length ? 'stored' : 'duplicate' })) }), { headers: { 'content-type': 'application/json' } });
} };`;

export default async function ingestBench(): Promise<void> {
  const configPath = path.join(ROOT, 'wrangler.toml');
  console.log(`POST /device-api/v1/events: batches of ${BATCH} encrypted events, ${CONCURRENCY} concurrent keep-alive connections, ${DEVICES} devices, ${DURATION_MS / 1000} s per row, loopback\n`);
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-ingest-'));
  const { values: secrets } = await ensureDevVars(path.join(dir, '.dev.vars'), path.join(dir, 'root.key'));
  const stateDir = path.join(dir, 'state');
  await runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '-c', configPath, '--persist-to', stateDir], { cwd: ROOT });
  const enc = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
  const kid = 'bench-enc-1';
  const seeded = await seed(configPath, stateDir, secrets.CLAIMS_FERNET_KEYS!, { ...(await exportJWK(enc.publicKey)), kid });
  const payload = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ celsius: 21.5, humidity: 40, note: 'x'.repeat(200) })))
    .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid, cty: 'application/json' })
    .encrypt(enc.publicKey);
  const tokens = await Promise.all(seeded.deviceIds.map((id) => deviceToken(secrets.JWT_SIGNING_KEYS!, id)));
  const bundle = await buildProductionBundle(ROOT);
  const rows: Record<string, string | number>[] = [];
  const row = (name: string, r: LoadResult, base?: LoadResult) => ({
    path: name, 'batches/s': Math.round(r.rps), 'events/s': Math.round(r.rps * BATCH), 'p50 ms': r.p50, 'p99 ms': r.p99, errors: r.errors, 'vs raw D1 batch': base ? `${(r.rps / base.rps).toFixed(2)}x` : '',
  });
  const platform = { configPath, stateDir, durableObjects: [...GATEHOUSE_DURABLE_OBJECTS, 'OrgLog'] };
  try {
    const raw = await serveOnWorkerd({ script: inlineWorker(RAW_WORKER), bindings: { ORG_ID: seeded.orgId, DEVICE_ID: `raw-${crypto.randomUUID()}`, KID: kid }, platform: { configPath, stateDir, durableObjects: [] } });
    let base: LoadResult;
    try {
      base = await measure(raw.url, ['unused'], payload, 'fresh');
      rows.push(row('raw D1 batch of 100 (baseline)', base));
    } finally {
      await raw.stop();
    }
    const vars = { PUBLIC_URL: ORIGIN, ISSUER: ORIGIN, MAX_BODY_BYTES: '1048576', USER_POOL_ID: 'local-1_gatehouse', HASURA_CLAIMS_FORMAT: 'stringified_json', HASURA_CLAIMS_IN_ACCESS_TOKEN: 'true', GROUP_ROLE_MAP: '{}' };
    const variants: [string, Record<string, string>, 'fresh' | 'duplicate'][] = [
      ['Device Gateway, new events (limits on)', { EVENTS_RATE_LIMIT_PER_DEVICE: '100000000/60' }, 'fresh'],
      ['Device Gateway, new events (limits off)', { EVENTS_RATE_LIMIT_PER_DEVICE: 'off' }, 'fresh'],
      ['Device Gateway, retried batch (all duplicates)', { EVENTS_RATE_LIMIT_PER_DEVICE: 'off' }, 'duplicate'],
    ];
    for (const [name, extra, mode] of variants) {
      const gh = await serveOnWorkerd({ script: bundle.entry, bindings: { ...vars, ...extra, ...secrets }, platform });
      try {
        rows.push(row(name, await measure(gh.url, tokens, payload, mode), base));
      } finally {
        await gh.stop();
      }
    }
  } finally {
    removeDir(bundle.dir);
    removeDir(dir);
  }
  table(rows);
  for (const f of [...new Set(failures)].slice(0, 3)) console.log(`failed answer: ${f}`);
  console.log(`\nEach event's payload is a ${payload.length}-byte compact JWE (ECDH-ES+A256KW / A256GCM); the platform checks its header and never decrypts it.`);
}
