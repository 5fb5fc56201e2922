/**
 * End to end: a device enrolled with the real agent, in an organisation, sends end-to-end encrypted events with
 * `gatehouse-agent send-event`; the organisation (holding the private key, as its connector would) reads them back
 * through the Records API and decrypts them, while the platform's D1 files never contain the plaintext.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compactDecrypt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMultiFernet } from '../../lib/fernet.ts';
import type { RecordView } from '../../lib/records/view.ts';
import { openLocalD1 } from '../../scripts/lib/local-d1.ts';
import { freePort, startLocalServer, type LocalServer } from '../../scripts/lib/local-server.ts';
import { createUser } from '../../workers/auth/store/users.ts';
import { database } from '../../workers/db.ts';
import { ROOT } from './fixtures.ts';
import { agent, api, orgKeyPairs, userToken } from './records-harness.ts';

const MARKER = `PLAINTEXT-MARKER-${crypto.randomUUID()}`;
const work = mkdtempSync(path.join(tmpdir(), 'gatehouse-records-e2e-'));
const stateDir = path.join(work, 'agent');
const owner = { id: crypto.randomUUID(), username: 'records-owner@example.com' };
let server: LocalServer;
let token = '';
let orgId = '';
let deviceId = '';
let keys: Awaited<ReturnType<typeof orgKeyPairs>>;

beforeAll(async () => {
  server = await startLocalServer({
    root: ROOT,
    prepare: async (ctx) => {
      const local = await openLocalD1(ctx);
      try {
        await createUser(database(local.db), createMultiFernet(ctx.secrets.CLAIMS_FERNET_KEYS ?? ''), { id: owner.id, email: owner.username, password: 'records e2e password', status: 'CONFIRMED', emailVerified: true, groups: [], claims: {} });
      } finally {
        await local.dispose();
      }
    },
  });
  token = await userToken(server.url, server.secrets.JWT_SIGNING_KEYS ?? '', owner);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Every file under a directory, recursively, with its bytes. */
function filesUnder(root: string): { file: string; bytes: Buffer }[] {
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(path.join(dir, f)).isDirectory() ? walk(path.join(dir, f)) : [path.join(dir, f)]));
  return walk(root).map((file) => ({ file, bytes: readFileSync(file) }));
}

const records = async () => (await api<{ records: RecordView[] }>(server.url, token, `/api/orgs/${orgId}/records?limit=500`)).body.records;

describe('an organisation device sending encrypted events with the agent', () => {
  it('sets up: organisation with public keys, a device enrolled with the agent and put in the organisation', async () => {
    const org = await api<{ id: string }>(server.url, token, '/api/orgs', { method: 'POST', body: { name: 'E2E Records' } });
    expect(org.status).toBe(201);
    orgId = org.body.id;
    keys = await orgKeyPairs();
    const put = await api(server.url, token, `/api/orgs/${orgId}/keys`, { method: 'PUT', body: { encryptionKey: keys.encryptionKey, signingKey: keys.signingKey } });
    expect(put.status).toBe(200);
    // An OTP issued for the organisation: the device it enrols joins the organisation.
    const otp = await fetch(`${server.url}/admin/api/otp`, { method: 'POST', headers: { Authorization: `PROV-ADMIN ${server.secrets.PROV_ADMIN_API_KEY}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ orgId }) });
    expect(otp.status).toBe(201);
    const enrolled = await agent('enroll', '--url', server.url, '--otp', ((await otp.json()) as { otp: string }).otp, '--state-dir', stateDir);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    deviceId = enrolled.stdout.trim();
    const device = await api<{ id: string; role: string }>(server.url, token, `/api/devices/${deviceId}`);
    expect(device.body).toMatchObject({ id: deviceId, role: 'admin' });
  });

  it('sends an event the organisation can decrypt; the platform stores only the JWE', async () => {
    const sent = await agent('send-event', '--type', 'door.opened', '--data', JSON.stringify({ door: 'front', note: MARKER }), '--state-dir', stateDir);
    expect(sent.code, sent.stderr).toBe(0);
    const id = sent.stdout.trim();
    expect(sent.stderr).toContain('sent: 1 stored, 0 already stored, 0 rejected');
    const [record] = await records();
    expect(record).toMatchObject({ id, kind: 'event', deviceId, orgId, type: 'door.opened', payloadFormat: 'jwe', encKid: keys.encKid });
    const jwe = String(record?.payload);
    expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: keys.encKid, evt: { id, type: 'door.opened', time: record?.time } });
    const { plaintext } = await compactDecrypt(jwe, keys.decryptKey);
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual({ door: 'front', note: MARKER });
  });

  it('retries with the same id without creating a duplicate', async () => {
    const again = await agent('send-event', '--type', 'door.opened', '--id', 'fixed-id-1', '--data', '{"n":1}', '--state-dir', stateDir);
    const retry = await agent('send-event', '--type', 'door.opened', '--id', 'fixed-id-1', '--data', '{"n":1}', '--state-dir', stateDir);
    expect([again.code, retry.code]).toEqual([0, 0]);
    expect(retry.stderr).toContain('sent: 0 stored, 1 already stored');
    expect((await records()).filter((r) => r.id === 'fixed-id-1')).toHaveLength(1);
  });

  it('spools while the server is unreachable (exit 5) and a later run flushes the spool first', async () => {
    const offline = await agent('send-event', '--type', 'temp', '--id', 'offline-1', '--data', '{"c":21}', '--url', `http://127.0.0.1:${await freePort()}`, '--retries', '0', '--state-dir', stateDir);
    expect(offline.code).toBe(5);
    expect(offline.stderr).toMatch(/cannot reach .*event offline-1 is kept in the spool/);
    const spool = path.join(stateDir, 'spool');
    expect(readdirSync(spool).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    expect(statSync(spool).mode & 0o777).toBe(0o700);
    const next = await agent('send-event', '--type', 'temp', '--id', 'online-2', '--data', '{"c":22}', '--state-dir', stateDir);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain('sent: 2 stored');
    expect(readdirSync(spool).filter((f) => f.endsWith('.json'))).toEqual([]);
    const ids = (await records()).map((r) => r.id);
    expect(ids.indexOf('offline-1')).toBeLessThan(ids.indexOf('online-2'));
    expect(ids.indexOf('offline-1')).toBeGreaterThan(-1);
  });

  it('never holds the plaintext: the marker is nowhere in the D1 files, while the clear metadata is', async () => {
    // The local D1 database (with its WAL and journal) holds the clear metadata…
    const d1 = filesUnder(path.join(server.stateDir, 'v3', 'd1'));
    expect(d1.filter((f) => f.file.endsWith('.sqlite')).length).toBeGreaterThan(0);
    expect(d1.some((f) => f.bytes.includes('fixed-id-1'))).toBe(true);
    expect(d1.some((f) => f.bytes.includes(keys.encKid))).toBe(true);
    // …and nothing anywhere in the server's state directory (D1, Durable Objects, caches) holds the plaintext.
    const everything = filesUnder(server.stateDir);
    expect(everything.length).toBeGreaterThanOrEqual(d1.length);
    expect(everything.filter((f) => f.bytes.includes(MARKER)).map((f) => f.file)).toEqual([]);
    expect(existsSync(path.join(stateDir, 'spool', 'rejected'))).toBe(false);
  });
});
