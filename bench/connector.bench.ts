/**
 * The connector: replication throughput (records/s pulled from the platform, decrypted, signature-checked, written and
 * FTS5-indexed) for BENCH_CONNECTOR_RECORDS (default 100,000) end-to-end encrypted events, then search and analytics
 * latency (p50/p99) over that many records. The platform runs under `wrangler dev` (seeded directly in its D1 before
 * it starts: the JWEs are made here, as devices would), the connector as a second `wrangler dev` Worker with
 * CONNECTOR_AUTH=none (so the figures exclude token checks), pages of 500.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CompactEncrypt, importJWK, type JWK } from 'jose';
import { createMultiFernet } from '../lib/fernet.ts';
import { utf8 } from '../lib/encoding.ts';
import { checkPublicJwk } from '../lib/records/jwk.ts';
import { newEncryptionKey, newSigningKey, publicHalf } from '../scripts/connector-keys.ts';
import { writeDotenv } from '../scripts/lib/dotenv.ts';
import { openLocalD1 } from '../scripts/lib/local-d1.ts';
import { startLocalServer } from '../scripts/lib/local-server.ts';
import { createUser } from '../workers/auth/store/users.ts';
import { database } from '../workers/db.ts';
import { registerKey } from '../workers/orgs/key-store.ts';
import { createOrgClient, ORG_CLIENT_SCOPE } from '../workers/orgs/client-store.ts';
import { createOrg } from '../workers/orgs/org-store.ts';
import { appendEntries } from '../workers/orgs/record-store.ts';
import { migrateConnector, startConnector } from '../test/e2e/connector-harness.ts';
import { httpClient, load, table } from './lib/load.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const RECORDS = Number(process.env.BENCH_CONNECTOR_RECORDS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);
const SITES = ['north hall', 'south yard', 'boiler room', 'cellar', 'roof'];
const WORDS = ['quiet', 'door', 'opened', 'closed', 'alarm', 'overheating', 'porter', 'maintenance', 'window', 'sensor'];

export default async function bench(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'gatehouse-connector-bench-'));
  const enc = await newEncryptionKey();
  const sig = await newSigningKey();
  const sealKey = await importJWK({ ...publicHalf(enc, 'enc'), use: undefined } as JWK, 'ECDH-ES+A256KW');
  const owner = crypto.randomUUID();
  let service = { clientId: '', secret: '' };
  let orgId = '';
  const t0 = performance.now();
  const server = await startLocalServer({
    root: ROOT,
    prepare: async (ctx) => {
      const local = await openLocalD1(ctx);
      try {
        const db = database(local.db);
        const fernet = createMultiFernet(ctx.secrets.CLAIMS_FERNET_KEYS ?? '');
        const claims = (id: string) => ({ 'x-hasura-user-id': id, 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user'] });
        await createUser(db, fernet, { id: owner, email: 'bench-owner@example.com', password: 'bench owner password', status: 'CONFIRMED', emailVerified: true, groups: [], claims: claims(owner) });
        orgId = (await createOrg(db, { name: 'bench' }, { actor: owner })).org.id;
        const bound = await createOrgClient(db, orgId, { name: 'connector bench', role: 'member', scopes: [ORG_CLIENT_SCOPE] }, { actor: owner });
        service = { clientId: bound.client.clientId, secret: bound.secret };
        for (const [jwk, use] of [[enc, 'enc'], [sig, 'sig']] as const) {
          const checked = checkPublicJwk(publicHalf(jwk, use), use);
          if (!checked.ok) throw new Error('bench key refused');
          await registerKey(db, orgId, checked.jwk, { actor: owner });
        }
        const base = Date.UTC(2026, 10, 1);
        for (let i = 0; i < RECORDS; i += 500) {
          const batch = [];
          for (let j = i; j < Math.min(RECORDS, i + 500); j++) {
            const evt = { id: `ev-${j}`, type: j % 10 === 0 ? 'door.opened' : 'sensor.reading', time: new Date(base + j * 1000).toISOString() };
            const data = { temperature: Math.round(((j * 7919) % 600) / 10) / 1 + 0.5, site: SITES[j % SITES.length], status: `${WORDS[j % WORDS.length]} ${WORDS[(j * 3) % WORDS.length]} reading ${j}` };
            const payload = await new CompactEncrypt(utf8(JSON.stringify(data))).setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: enc.kid, cty: 'application/json', evt }).encrypt(sealKey);
            batch.push({ ...evt, kind: 'event' as const, orgId, deviceId: `dev-${j % 20}`, userId: null, payloadFormat: 'jwe' as const, payload, encKid: enc.kid, signature: null, sigKid: null, size: payload.length });
          }
          await appendEntries(db, batch);
        }
      } finally {
        await local.dispose();
      }
    },
  });
  console.log(`seeded ${RECORDS.toLocaleString('en-US')} encrypted events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const devVars = path.join(work, 'connector.dev.vars');
  writeDotenv(devVars, { ORG_ID: orgId, GATEHOUSE_URL: server.url, ORG_ENCRYPTION_KEYS: JSON.stringify([enc]), ORG_SIGNING_KEY: JSON.stringify(sig), GATEHOUSE_CLIENT_ID: service.clientId, GATEHOUSE_CLIENT_SECRET: service.secret }, 'bench');
  const state = path.join(work, 'connector-state');
  await migrateConnector(state);
  const connector = await startConnector({ devVars, stateDir: state, vars: { CONNECTOR_AUTH: 'none', REPLICATION_PAGE_SIZE: '500', GATEHOUSE_URL: server.url } });
  try {
    const started = performance.now();
    let records = 0;
    for (;;) {
      const status = (await (await fetch(`${connector.url}/replication/status`)).json()) as { counts: { records: number; decrypted: number }; lastError: unknown };
      records = status.counts.decrypted;
      if (records >= RECORDS) break;
      if (performance.now() - started > 30 * 60_000) throw new Error(`replication stalled at ${records}: ${JSON.stringify(status.lastError)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const seconds = (performance.now() - started) / 1000;
    console.log('\nReplication (pull pages of 500, decrypt, verify, write + FTS5 index in one D1 batch per page)');
    table([{ records, seconds: Number(seconds.toFixed(1)), 'records/s': Math.round(records / seconds) }]);

    const http = await httpClient(connector.url, CONCURRENCY);
    const queries: [string, string][] = [
      ['search: word', '/search?q=porter&limit=20'],
      ['search: phrase', `/search?q=${encodeURIComponent('"door opened"')}&limit=20`],
      ['search: prefix + filters', `/search?q=overheat*&type=sensor.reading&where=${encodeURIComponent('temperature>30')}&limit=20`],
      ['search: by time, device', '/search?device=dev-7&order=time:desc&limit=20'],
      ['search: order by field', `/search?where=${encodeURIComponent('site=cellar')}&order=temperature:desc&limit=20`],
      ['analytics: per device', '/analytics/temperature_by_device'],
      ['analytics: per hour, 1 day', '/analytics/readings_per_hour?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z'],
    ];
    const rows = [];
    for (const [name, p] of queries) {
      const r = await load(async () => (await http.request(p)).status === 200, { concurrency: CONCURRENCY, durationMs: DURATION_MS });
      rows.push({ query: name, requests: r.requests, errors: r.errors, 'req/s': Number(r.rps.toFixed(1)), 'p50 ms': Number(r.p50.toFixed(1)), 'p99 ms': Number(r.p99.toFixed(1)) });
    }
    await http.close();
    console.log(`\nSearch and analytics over ${records.toLocaleString('en-US')} records (concurrency ${CONCURRENCY}, ${DURATION_MS / 1000} s each)`);
    table(rows);
  } finally {
    await connector.kill();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
