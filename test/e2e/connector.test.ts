/**
 * End to end: the platform and the connector, each a real local Worker (wrangler dev), with the real device agent
 * sending end-to-end encrypted events. The connector is set up with `connector:setup` (keys generated locally, public
 * halves registered, an app client bound to the organisation created: the connector's client_credentials), replicates, is killed mid-sync and restarted, follows live, searches, aggregates, runs a rule
 * whose signed record the platform verifies, decrypts a record once its key is added, and refuses outsiders.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMultiFernet } from '../../lib/fernet.ts';
import type { RecordContent } from '../../lib/records/canonical.ts';
import { signRecord, verifyRecordSignature } from '../../lib/records/signature.ts';
import type { RecordView } from '../../lib/records/view.ts';
import { generateWebhookSecret, verifyWebhook } from '../../lib/webhook-signature.ts';
import { connectorSetup } from '../../scripts/connector-setup.ts';
import { readDotenv, writeDotenv } from '../../scripts/lib/dotenv.ts';
import { openLocalD1 } from '../../scripts/lib/local-d1.ts';
import { freePort, startLocalServer, type LocalServer } from '../../scripts/lib/local-server.ts';
import { createUser } from '../../workers/auth/store/users.ts';
import { database } from '../../workers/db.ts';
import { connectorCall, connectorIds, eventually, migrateConnector, startConnector, type RunningConnector } from './connector-harness.ts';
import { ROOT } from './fixtures.ts';
import { agent, api, userToken } from './records-harness.ts';

const work = mkdtempSync(path.join(tmpdir(), 'gatehouse-connector-e2e-'));
const agentDir = path.join(work, 'agent');
const connectorState = path.join(work, 'connector-state');
const devVars = path.join(work, 'connector.dev.vars');
const owner = { id: crypto.randomUUID(), username: 'connector-owner@example.com' };
const outsider = { id: crypto.randomUUID(), username: 'connector-outsider@example.com' };
const BULK = 400;
let server: LocalServer;
let connector: RunningConnector | undefined;
let connectorPort = 0;
let ownerToken = '';
let orgId = '';
let deviceId = '';
const sentReadings: { id: string; temperature: number; site: string; status: string }[] = [];
// A webhook receiver, for the configuration's webhook rule (door.opened → POST, Standard Webhooks signature).
const hookSecret = generateWebhookSecret();
const hooks: { id: string; timestamp: string; signature: string; body: string }[] = [];
let hookServer: Server;
let hookUrl = '';

const startTheConnector = async (vars: Record<string, string> = {}, file = devVars) => {
  connector = await startConnector({ devVars: file, stateDir: connectorState, port: connectorPort, vars: { GATEHOUSE_URL: server.url, REPLICATION_RESYNC_SECONDS: '2', MEMBERSHIP_CACHE_SECONDS: '0', DOOR_WEBHOOK_SECRET: hookSecret, ...vars } });
  return connector;
};
const call = <T = Record<string, unknown>>(p: string, init: { method?: string; body?: unknown } = {}, token: string | null = ownerToken) => connectorCall<T>(connector?.url ?? '', token ?? undefined, p, init);
type Status = { cursor: string | null; stream: string; caughtUp: boolean; counts: { records: number; undecryptable: number; rulesDone: number }; lastError: unknown };
const status = async () => (await call<Status>('/replication/status')).body;

async function platformIds(): Promise<string[]> {
  const ids: string[] = [];
  let after = '';
  for (;;) {
    const page = (await api<{ records: RecordView[]; cursor: string; hasMore: boolean }>(server.url, ownerToken, `/api/orgs/${orgId}/records?limit=500${after ? `&after=${after}` : ''}`)).body;
    ids.push(...page.records.map((r) => r.id));
    after = page.cursor;
    if (!page.hasMore) return ids;
  }
}

async function sendReading(reading: { temperature: number; site: string; status: string }, time?: string): Promise<string> {
  const sent = await agent('send-event', '--type', 'sensor.reading', '--data', JSON.stringify(reading), ...(time ? ['--time', time] : []), '--state-dir', agentDir);
  expect(sent.code, sent.stderr).toBe(0);
  const id = sent.stdout.trim();
  sentReadings.push({ id, ...reading });
  return id;
}

beforeAll(async () => {
  server = await startLocalServer({
    root: ROOT,
    prepare: async (ctx) => {
      const local = await openLocalD1(ctx);
      try {
        const db = database(local.db);
        const fernet = createMultiFernet(ctx.secrets.CLAIMS_FERNET_KEYS ?? '');
        for (const u of [owner, outsider]) {
          await createUser(db, fernet, { id: u.id, email: u.username, password: 'unused password 123', status: 'CONFIRMED', emailVerified: true, groups: [], claims: { 'x-hasura-user-id': u.id, 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user'] } });
        }
      } finally {
        await local.dispose();
      }
    },
  });
  ownerToken = await userToken(server.url, server.secrets.JWT_SIGNING_KEYS ?? '', owner);
  connectorPort = await freePort();
  await migrateConnector(connectorState);
  hookServer = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hooks.push({ id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']), signature: String(req.headers['webhook-signature']), body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  const address = hookServer.address();
  hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
}, 180_000);

afterAll(async () => {
  await connector?.kill('SIGKILL');
  hookServer?.close();
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the connector beside the platform', () => {
  it('sets up: organisation, connector:setup registers the public keys and creates the bound app client, a device enrolled into the organisation', async () => {
    orgId = (await api<{ id: string }>(server.url, ownerToken, '/api/orgs', { method: 'POST', body: { name: 'Connector E2E' } })).body.id;
    const written = await connectorSetup({ url: server.url, orgId, token: ownerToken, out: devVars });
    expect(written.GATEHOUSE_CLIENT_SECRET?.length).toBeGreaterThanOrEqual(32);
    expect(written.GATEHOUSE_USERNAME).toBeUndefined();
    const clients = await api<{ clients: { clientId: string; name: string; role: string }[] }>(server.url, ownerToken, `/api/orgs/${orgId}/clients`);
    expect(clients.body.clients.map((c) => [c.clientId, c.name, c.role])).toEqual([[written.GATEHOUSE_CLIENT_ID, 'connector', 'member']]);
    const encKid = (JSON.parse(written.ORG_ENCRYPTION_KEYS ?? '[]') as { kid: string }[])[0]?.kid;
    // The bundled configuration plus a webhook rule, through CONNECTOR_CONFIG (a var, overridden in .dev.vars).
    const config = JSON.parse(readFileSync(path.join(ROOT, 'workers/connector/connector.config.json'), 'utf8')) as { rules: unknown[] };
    config.rules.push({ name: 'door_hook', when: { type: 'door.opened' }, action: { kind: 'webhook', url: hookUrl, secret: 'DOOR_WEBHOOK_SECRET' } });
    writeDotenv(devVars, { ...readDotenv(devVars), CONNECTOR_CONFIG: JSON.stringify(config) }, 'connector e2e');
    const org = await api<{ keys: { encryption: { kid: string; status: string; jwk: Record<string, unknown> }[]; signing: { kid: string }[] } }>(server.url, ownerToken, `/api/orgs/${orgId}`);
    expect(org.body.keys.encryption.map((k) => [k.kid, k.status])).toEqual([[encKid, 'active']]);
    expect(org.body.keys.encryption[0]?.jwk.d).toBeUndefined();
    expect(org.body.keys.signing[0]?.kid).toBe((JSON.parse(written.ORG_SIGNING_KEY ?? '{}') as { kid: string }).kid);

    const otp = await fetch(`${server.url}/admin/api/otp`, { method: 'POST', headers: { Authorization: `PROV-ADMIN ${server.secrets.PROV_ADMIN_API_KEY}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ orgId }) });
    expect(otp.status).toBe(201);
    const enrolled = await agent('enroll', '--url', server.url, '--otp', ((await otp.json()) as { otp: string }).otp, '--state-dir', agentDir);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    deviceId = enrolled.stdout.trim();
  });

  it('replicates a backlog; killed mid-sync and restarted, it ends with exactly the platform records, no duplicates', { timeout: 240_000 }, async () => {
    // The backlog: encrypted readings from the real agent, and signed records appended with the organisation's key.
    await sendReading({ temperature: 18.5, site: 'north hall', status: 'door closed quietly' });
    await sendReading({ temperature: 25, site: 'north hall', status: 'door opened by the night porter' });
    await sendReading({ temperature: 31, site: 'south yard', status: 'overheating alarm raised' });
    const sig = JSON.parse(readDotenv(devVars).ORG_SIGNING_KEY ?? '{}') as JWK & { kid: string };
    const sigKey = await importJWK(sig, 'EdDSA');
    for (let i = 0; i < BULK; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_x, j) => {
          const record: RecordContent = { id: `bulk-${i + j}`, orgId, type: 'ledger.entry', time: new Date(Date.UTC(2026, 10, 1, 0, 0, i + j)).toISOString(), payload: { n: i + j, memo: `ledger line ${i + j}` } };
          const { orgId: _, ...body } = record;
          const res = await api(server.url, ownerToken, `/api/orgs/${orgId}/records`, { method: 'POST', body: { ...body, signature: await signRecord(record, sigKey, { kid: sig.kid, alg: 'EdDSA' }) } });
          expect(res.status).toBe(201);
        }),
      );
    }
    const expected = await platformIds();
    expect(expected).toHaveLength(BULK + 3);

    // Small pages, so there is a "middle" of the sync to kill it in.
    await startTheConnector({ REPLICATION_PAGE_SIZE: '2' });
    const partial = await eventually('part of the backlog replicated', status, (s) => s.counts.records > 20, 40_000).catch((e: Error) => {
      throw new Error(`${e.message}\n--- connector output ---\n${connector?.output()}`);
    });
    await connector?.kill('SIGKILL');
    // Killed mid-sync: the last status seen (just before the kill) was part-way through.
    expect(partial.counts.records).toBeLessThan(expected.length);
    await startTheConnector();
    const done = await eventually('the backlog replicated', status, (s) => s.counts.records >= expected.length && s.caughtUp, 120_000);
    expect(done.counts.records).toBe(expected.length);
    const held = await connectorIds(connector?.url ?? '', ownerToken);
    expect(held).toHaveLength(expected.length);
    expect(new Set(held)).toEqual(new Set(expected));
    const bulk = await call<{ signature: { status: string }; payload: unknown }>('/records/bulk-7');
    expect(bulk.body).toMatchObject({ signature: { status: 'valid' }, payload: { n: 7, memo: 'ledger line 7' } });
  });

  it('follows live over the push stream', async () => {
    await eventually('stream open', status, (s) => s.stream === 'open');
    const id = await sendReading({ temperature: 12, site: 'south yard', status: 'all quiet' });
    const rec = await eventually('live event replicated', () => call<{ payload: unknown; decryption: { status: string } }>(`/records/${id}`), (r) => r.status === 200, 15_000);
    expect(rec.body).toMatchObject({ payload: { temperature: 12, site: 'south yard', status: 'all quiet' }, decryption: { status: 'ok' } });
  });

  it('searches by word, phrase and prefix, with filters and both orderings', async () => {
    await sendReading({ temperature: 40.25, site: 'north hall', status: 'alarm door forced' });
    const [r1, r2, r3, r4, r5] = sentReadings.map((r) => r.id);
    await eventually('all readings replicated', () => call(`/records/${r5}`), (r) => r.status === 200, 15_000);
    const ids = async (q: string) => {
      const res = await call<{ results: { id: string }[] }>(`/search?${q}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.results.map((r) => r.id);
    };
    expect(await ids('q=door&order=time:asc')).toEqual([r1, r2, r5]);
    expect(await ids(`q=${encodeURIComponent('"night porter"')}`)).toEqual([r2]);
    expect(await ids('q=overheat*')).toEqual([r3]);
    expect(await ids(`q=door&device=${deviceId}&where=temperature>20&order=time:desc`)).toEqual([r5, r2]);
    expect(await ids(`type=sensor.reading&where=${encodeURIComponent('site=south yard')}&order=temperature:asc`)).toEqual([r4, r3]);
    expect(await ids('type=sensor.reading&order=temperature:desc')).toEqual([r5, r3, r2, r1, r4]);
    expect(await ids(`q=${encodeURIComponent('ledger "line 17"')}`)).toEqual(['bulk-17']);
    const bad = await call<{ errors: { path: string; message: string }[] }>(`/search?q=${encodeURIComponent('"unclosed')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toEqual({ path: 'q', message: 'unterminated phrase: the quote at position 1 is never closed' });
  });

  it('computes analytics equal to the figures from the plaintext', async () => {
    const temps = sentReadings.map((r) => r.temperature).sort((a, b) => a - b);
    const res = await call<{ rows: Record<string, number | string>[] }>('/analytics/temperature_by_device');
    expect(res.status).toBe(200);
    const row = res.body.rows.find((r) => r.device === deviceId);
    const rank = (p: number) => temps[Math.ceil((p / 100) * temps.length) - 1];
    expect(row).toEqual({ device: deviceId, count: temps.length, avg: temps.reduce((a, b) => a + b, 0) / temps.length, min: temps[0], max: temps.at(-1), p50: rank(50), p95: rank(95) });
  });

  it('fires a rule exactly once; its signed (and encrypted) record verifies on the platform, also after a backfill', { timeout: 180_000 }, async () => {
    const hot = await sendReading({ temperature: 95.5, site: 'boiler room', status: 'too hot' });
    type Runs = { runs: { rule: string; recordId: string; status: string; outputId: string; attempts: number }[] };
    const runs = await eventually('rule run done', () => call<Runs>('/rules/runs?rule=overheat'), (r) => r.body.runs?.some((x) => x.recordId === hot && x.status === 'done'), 30_000);
    expect(runs.body.runs.filter((x) => x.recordId === hot)).toHaveLength(1);
    const outputId = runs.body.runs[0]?.outputId ?? '';
    const all = await platformIds();
    expect(all.filter((id) => id === outputId)).toHaveLength(1);
    // Any reader re-verifies the platform's copy against the organisation's registered public key.
    const org = await api<{ keys: { signing: { kid: string; status: 'active' | 'retired'; jwk: JWK & { crv?: string } }[] } }>(server.url, ownerToken, `/api/orgs/${orgId}`);
    const keys = new Map(org.body.keys.signing.map((k) => [k.kid, { jwk: k.jwk, status: k.status }]));
    let stored: RecordView | undefined;
    let after = '';
    for (;;) {
      const page = (await api<{ records: RecordView[]; cursor: string; hasMore: boolean }>(server.url, ownerToken, `/api/orgs/${orgId}/records?limit=500${after ? `&after=${after}` : ''}`)).body;
      stored ??= page.records.find((r) => r.id === outputId);
      after = page.cursor;
      if (!page.hasMore) break;
    }
    // Appended with the connector's client_credentials token: no user behind it.
    expect(stored).toMatchObject({ kind: 'record', type: 'alert.overheat', userId: null });
    const check = await verifyRecordSignature({ id: stored!.id, orgId, type: stored!.type, time: stored!.time, payload: stored!.payload as never }, stored!.signature ?? '', (kid) => keys.get(kid));
    expect(check.ok).toBe(true);
    // The platform holds ciphertext; the connector reads the alert back decrypted, signature valid.
    expect(typeof stored!.payload).toBe('string');
    const alert = await eventually('alert replicated', () => call<{ payload: { rule: string; source: { id: string }; data: unknown }; signature: { status: string } }>(`/records/${outputId}`), (r) => r.status === 200, 15_000);
    expect(alert.body).toMatchObject({ payload: { rule: 'overheat', source: { id: hot }, data: { temperature: 95.5, site: 'boiler room', status: 'too hot' } }, signature: { status: 'valid' } });

    // A backfill replicates everything again: the rule does not fire a second time.
    expect((await call('/replication/backfill', { method: 'POST' })).status).toBe(202);
    const total = (await platformIds()).length;
    await eventually('backfill done', status, (s) => s.counts.records === total && s.caughtUp, 120_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await platformIds()).filter((id) => id.startsWith('rule.overheat.'))).toHaveLength(1);
    expect((await call<Runs>('/rules/runs?rule=overheat')).body.runs).toHaveLength(1);
  });

  it('posts a signed webhook exactly once per matching record', { timeout: 120_000 }, async () => {
    const sent = await agent('send-event', '--type', 'door.opened', '--data', JSON.stringify({ door: 'front' }), '--state-dir', agentDir);
    expect(sent.code, sent.stderr).toBe(0);
    const id = sent.stdout.trim();
    type Runs = { runs: { recordId: string; status: string; outputId: string }[] };
    const runs = await eventually('webhook run done', () => call<Runs>('/rules/runs?rule=door_hook'), (r) => r.body.runs?.some((x) => x.recordId === id && x.status === 'done'), 30_000);
    const run = runs.body.runs.find((x) => x.recordId === id);
    const mine = hooks.filter((h) => h.id === run?.outputId);
    expect(mine).toHaveLength(1);
    expect(await verifyWebhook(hookSecret, mine[0]!, mine[0]!.body)).toBe(true);
    expect(JSON.parse(mine[0]!.body)).toEqual({ type: 'connector.rule', rule: 'door_hook', source: { id, type: 'door.opened', time: expect.any(String), deviceId }, data: { door: 'front' } });
    // A re-sync from the start does not post it again.
    expect((await call('/replication/backfill', { method: 'POST' })).status).toBe(202);
    await eventually('backfill done', status, (s) => s.caughtUp && s.counts.records > BULK, 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(hooks.filter((h) => h.id === run?.outputId)).toHaveLength(1);
  });

  it('decrypts a record under a key it lacked once the key is added (rotation)', { timeout: 120_000 }, async () => {
    // A new encryption key is registered (the old one retires); the running connector does not hold it yet.
    const staged = path.join(work, 'rotated.dev.vars');
    rmSync(staged, { force: true });
    const current = readDotenv(devVars);
    writeDotenv(staged, current, 'staged');
    const rotated = await connectorSetup({ url: server.url, orgId, token: ownerToken, rotate: true, out: staged });
    const newKid = (JSON.parse(rotated.ORG_ENCRYPTION_KEYS ?? '[]') as { kid: string }[])[0]?.kid;
    expect(rotated.GATEHOUSE_CLIENT_ID).toBe(current.GATEHOUSE_CLIENT_ID); // the bound client is kept
    const id = await sendReading({ temperature: 7, site: 'cellar', status: 'rotated key reading' });
    const failed = await eventually('undecryptable record stored', () => call<{ payload: unknown; decryption: { status: string; kid: string; error?: string } }>(`/records/${id}`), (r) => r.status === 200, 15_000);
    expect(failed.body.payload).toBeNull();
    expect(failed.body.decryption).toEqual({ status: 'failed', kid: newKid, error: `unknown_kid: no decryption key with kid "${newKid}"` });
    expect((await status()).counts.undecryptable).toBe(1);
    // The key is added (the connector restarts with both keys): the record decrypts and becomes searchable.
    await connector?.kill();
    await startTheConnector({}, staged);
    const ok = await eventually('record decrypted', () => call<{ payload: unknown; decryption: { status: string } }>(`/records/${id}`), (r) => r.body.decryption?.status === 'ok', 30_000);
    expect(ok.body.payload).toEqual({ temperature: 7, site: 'cellar', status: 'rotated key reading' });
    expect((await call<{ results: { id: string }[] }>(`/search?q=${encodeURIComponent('"rotated key"')}`)).body.results.map((r) => r.id)).toEqual([id]);
    expect((await status()).counts.undecryptable).toBe(0);
  });

  it('lets a member write a record signed on the organisation’s behalf, which the platform verifies', async () => {
    const res = await call<{ status: string; record: RecordView }>('/records', { method: 'POST', body: { id: 'written-via-connector', type: 'note.added', payload: { text: 'checked the boiler' } } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.record).toMatchObject({ id: 'written-via-connector', userId: owner.id, payload: { text: 'checked the boiler' } });
    const back = await eventually('written record replicated', () => call<{ signature: { status: string } }>('/records/written-via-connector'), (r) => r.status === 200, 15_000);
    expect(back.body.signature.status).toBe('valid');
  });

  it('relays /platform/* with the caller’s token and decrypts payloads', async () => {
    const res = await call<{ records: { id: string; payload: unknown; payloadDecryption?: { status: string } }[] }>(`/platform/api/orgs/${orgId}/records?limit=500`);
    expect(res.status).toBe(200);
    const first = res.body.records.find((r) => r.id === sentReadings[0]?.id);
    expect(first).toMatchObject({ payload: { temperature: 18.5, site: 'north hall', status: 'door closed quietly' }, payloadDecryption: { status: 'ok' } });
  });

  it('refuses an outsider’s token and a missing token', async () => {
    const outsiderToken = await userToken(server.url, server.secrets.JWT_SIGNING_KEYS ?? '', outsider);
    const refused = await call<{ detail: string }>('/search?q=door', {}, outsiderToken);
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toBe('You are not a member of the organisation this connector serves.');
    const none = await call('/search?q=door', {}, null);
    expect(none.status).toBe(400);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_request"/);
    const forged = await call('/search?q=door', {}, `${ownerToken.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(401);
  });
});
