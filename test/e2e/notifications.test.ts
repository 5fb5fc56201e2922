/**
 * Notifications end to end: the real Worker under wrangler dev (real local Queues with retries and the dead-letter
 * queue) delivers a device's notification to a Web Push service stand-in that decrypts with `http_ece`, to an FCM
 * stand-in that checks the OAuth grant, and to Standard Webhooks receivers.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDotenv, writeDotenv } from '../../scripts/lib/dotenv.ts';
import { startLocalServer, type LocalServer } from '../../scripts/lib/local-server.ts';
import { ensureDevVars } from '../../scripts/lib/setup.ts';
import { jwkToPoint } from '../../lib/webpush/keys.ts';
import { loadVapidKeys } from '../../lib/webpush/vapid.ts';
import { ROOT } from './fixtures.ts';
import { accessToken, deviceJwt, seedActors, serviceAccountKey, type Actor } from './notifications-harness.test-fixture.ts';
import { browserKeys, fcmService, webhookReceiver, webPushService } from './notifications-standins.test-fixture.ts';

type Delivery = { messageId: string; subscriptionId: string; status: string; attempts: number; lastError: string | null; latencyMs: number | null };

let server: LocalServer;
let actors: Record<string, Actor>;
const tokens: Record<string, string> = {};
const account = await serviceAccountKey('gatehouse-e2e');
const push = await webPushService();
const hooks = await webhookReceiver(() => 200);
const failing = await webhookReceiver(() => 500);
const unregistered = { error: { code: 404, status: 'NOT_FOUND', message: 'Requested entity was not found.', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] } };
const fcm = await fcmService(account, [
  () => [200, { name: 'projects/gatehouse-e2e/messages/1' }],
  () => [429, { error: { code: 429, status: 'RESOURCE_EXHAUSTED', details: [{ errorCode: 'QUOTA_EXCEEDED' }] } }, { 'Retry-After': '1' }],
  () => [404, unregistered],
]);

beforeAll(async () => {
  server = await startLocalServer({
    root: ROOT,
    vars: {
      DEV_MODE: 'true',
      VAPID_SUBJECT: 'mailto:ops@gatehouse.example',
      FCM_ENDPOINT: fcm.url,
      FCM_TOKEN_URL: `${fcm.url}/token`,
      NOTIFY_RETRY_BASE_SECONDS: '1',
      NOTIFY_RETRY_MAX_SECONDS: '2',
      // The stand-ins answer in milliseconds; a deadline this long is only hit when the machine stalls, and a spurious
      // timeout would re-send (correctly, at least once) and upset the exact counts asserted below.
      NOTIFY_HTTP_TIMEOUT_MS: '20000',
      // VAPID_PRIVATE_KEY is the one setup generated into the server's .dev.vars (a required secret, so wrangler dev loads
      // it). FCM_SERVICE_ACCOUNT is optional, and wrangler dev loads only declared secrets: passed as --var.
      FCM_SERVICE_ACCOUNT: account.json,
    },
    prepare: async (ctx) => {
      actors = await seedActors(ctx, ['push', 'fcm', 'hook', 'dead']);
    },
  });
  for (const [name, actor] of Object.entries(actors)) tokens[name] = await accessToken(server.url, server.secrets.JWT_SIGNING_KEYS ?? '', actor);
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await Promise.all([push, hooks, failing, fcm].map((s) => s.close()));
});

const api = (name: string, path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, { ...init, headers: { Authorization: `Bearer ${tokens[name]}`, 'Content-Type': 'application/json', ...init.headers } });

async function subscribe(name: string, body: unknown): Promise<{ id: string; secret?: string }> {
  const res = await api(name, '/api/notifications/subscriptions', { method: 'POST', body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json() as Promise<{ id: string; secret?: string }>;
}

async function notify(name: string, body: Record<string, unknown>): Promise<string> {
  const actor = actors[name]!;
  const res = await fetch(`${server.url}/device-api/v1/notifications`, { method: 'POST', headers: { Authorization: `Bearer ${await deviceJwt(actor)}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const history = async (name: string): Promise<Delivery[]> => ((await (await api(name, '/api/notifications/deliveries')).json()) as { deliveries: Delivery[] }).deliveries;

// Generous deadlines: each step takes a second or two on an idle machine, but CI shares two cores with other suites.
async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  const seen = { push: push.received.length, fcm: fcm.received.length, hooks: hooks.received.length, failing: failing.received.length };
  throw new Error(`timed out waiting for ${what}; stand-ins received ${JSON.stringify(seen)}\n--- server output ---\n${server.output().slice(-4000)}`);
}

// The four scenarios use their own users, devices and stand-ins, so they run side by side (the dead-letter one takes
// longest: six attempts with backoff).
describe.concurrent('notifications end to end', () => {
  it('Web Push: http_ece decrypts the aes128gcm message, the VAPID JWT verifies, and a 410 endpoint is removed', async () => {
    const browser = browserKeys();
    push.register('/push/browser-1', browser);
    const sub = await subscribe('push', browser.json(`${push.url}/push/browser-1`));
    const gone = await subscribe('push', browserKeys().json(`${push.url}/push/gone-1`));
    const { publicKey } = (await (await api('push', '/api/notifications/vapid-public-key')).json()) as { publicKey: string };

    const id = await notify('push', { title: 'Door opened', body: 'Front door, 02:14', severity: 'high', data: { door: 'front' } });
    const got = await until('the push message', async () => push.received.find((r) => r.path === '/push/browser-1'));
    expect(got.problem).toBeUndefined();
    expect(got.json).toMatchObject({ type: 'device.notification', id, deviceId: actors.push!.deviceId, deviceName: 'push device', title: 'Door opened', body: 'Front door, 02:14', severity: 'high', data: { door: 'front' } });
    expect(got.headers.urgency).toBe('high');
    expect(got.headers.ttl).toBe('86400');
    // Signed with the key `npm run setup` generated into .dev.vars, whose public half the API hands to browsers.
    const setupKey = JSON.parse(server.secrets.VAPID_PRIVATE_KEY ?? '{}') as { x: string; y: string };
    expect(publicKey).toBe(Buffer.from(jwkToPoint(setupKey)).toString('base64url'));
    expect(got.headers.authorization).toMatch(new RegExp(`, k=${publicKey}$`));

    // The consumer records both attempts, then deletes the gone subscription with its history: wait for that end state.
    await until('the 410 subscription to be removed', async () => (await api('push', `/api/notifications/subscriptions/${gone.id}`)).status === 404);
    const rows = await until('the delivery recorded', async () => {
      const h = await history('push');
      return h.some((d) => d.subscriptionId === sub.id && d.status === 'delivered') && h;
    });
    expect(rows.filter((d) => d.messageId === id)).toEqual([expect.objectContaining({ subscriptionId: sub.id, status: 'delivered', attempts: 1, lastError: null })]);
    expect((await api('push', `/api/notifications/subscriptions/${sub.id}`)).status).toBe(200);
    expect(push.received.filter((r) => r.path === '/push/gone-1')).toHaveLength(1);
  }, 150_000);

  it('FCM: checks the OAuth grant once, then 200, then 429 retried after Retry-After, then UNREGISTERED removes the token', async () => {
    const fcmToken = `e2e${'A'.repeat(20)}:APA91b${'x'.repeat(120)}`;
    const sub = await subscribe('fcm', { fcmToken });
    const first = await notify('fcm', { title: 'Battery low', body: '12 %', severity: 'normal' });
    await until('first FCM delivery', async () => (await history('fcm')).some((d) => d.messageId === first && d.status === 'delivered'));

    const second = await notify('fcm', { title: 'Battery critical', body: '3 %', severity: 'critical', data: { level: 3 } });
    await until('the token to be removed', async () => (await api('fcm', `/api/notifications/subscriptions/${sub.id}`)).status === 404, 90_000);

    expect(fcm.received.filter((r) => r.problem)).toEqual([]);
    expect(fcm.received.filter((r) => r.path === '/token')).toHaveLength(1);
    const sends = fcm.received.filter((r) => r.path.endsWith('messages:send'));
    expect(sends).toHaveLength(3);
    expect(sends[0]!.json).toEqual({
      message: expect.objectContaining({ token: fcmToken, notification: { title: 'Battery low', body: '12 %' }, data: expect.objectContaining({ id: first, severity: 'normal', data: '{}' }), android: { priority: 'NORMAL' } }),
    });
    expect(sends[1]!.json).toMatchObject({ message: { data: { id: second, data: '{"level":3}' }, android: { priority: 'HIGH' } } });
    expect(sends[2]!.json).toMatchObject({ message: { data: { id: second } } });
    expect(sends[2]!.at - sends[1]!.at).toBeGreaterThanOrEqual(1000);
  }, 180_000);

  it('webhooks: the receiver verifies the Standard Webhooks signature of the JSON body', async () => {
    const sub = await subscribe('hook', { url: `${hooks.url}/hook` });
    hooks.register('/hook', sub.secret ?? '');
    const id = await notify('hook', { title: 'Leak detected', body: 'Basement', severity: 'critical', data: { litres: 2 } });
    const got = await until('the webhook', async () => hooks.received.find((r) => r.headers['webhook-id'] === id));
    expect(got.problem).toBeUndefined();
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.json).toMatchObject({ type: 'device.notification', timestamp: expect.any(String), data: { id, title: 'Leak detected', severity: 'critical', data: { litres: 2 } } });
    const row = await until('the delivery', async () => (await history('hook')).find((d) => d.messageId === id && d.status === 'delivered'));
    expect(row).toMatchObject({ attempts: 1, lastError: null, latencyMs: expect.any(Number) });
  }, 150_000);

  it('a receiver that always fails: retried with backoff max_retries times, dead-lettered, delivery marked dead', async () => {
    const sub = await subscribe('dead', { url: `${failing.url}/always` });
    failing.register('/always', sub.secret ?? '');
    const id = await notify('dead', { title: 'Unheard', body: 'nobody listens', severity: 'low' });
    const row = await until('the dead delivery', async () => (await history('dead')).find((d) => d.messageId === id && d.status === 'dead'), 200_000);
    const attempts = failing.received.filter((r) => r.headers['webhook-id'] === id);
    expect(attempts.every((r) => r.problem === undefined)).toBe(true);
    expect(attempts).toHaveLength(6); // the first attempt + max_retries (5) in wrangler.toml
    expect(row).toMatchObject({ subscriptionId: sub.id, attempts: 6, lastError: 'HTTP 500 (dead-lettered)' });
    const gaps = attempts.slice(1).map((r, i) => r.at - attempts[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(400);
  }, 240_000);
});

describe('VAPID keys from setup', () => {
  it('setup adds VAPID_PRIVATE_KEY to an existing .dev.vars, keeps every other secret, and changes nothing on a re-run', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-vapid-'));
    try {
      const devVars = path.join(dir, '.dev.vars');
      const rootKey = path.join(dir, 'root-ca.key');
      // A .dev.vars from before notifications: every secret but the VAPID key.
      const { values: before } = await ensureDevVars(devVars, rootKey);
      const { VAPID_PRIVATE_KEY: _dropped, ...older } = before;
      writeDotenv(devVars, older, 'an older .dev.vars');

      const upgrade = await ensureDevVars(devVars, rootKey);
      expect(upgrade.generated).toEqual(['VAPID_PRIVATE_KEY']);
      const after = readDotenv(devVars);
      expect(after).toEqual({ ...older, VAPID_PRIVATE_KEY: expect.any(String) });
      const jwk = JSON.parse(after.VAPID_PRIVATE_KEY ?? '') as Record<string, string>;
      expect(Object.keys(jwk).sort()).toEqual(['crv', 'd', 'kty', 'x', 'y']);
      expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
      expect((await loadVapidKeys(after.VAPID_PRIVATE_KEY ?? '')).publicKey).toBe(Buffer.from(jwkToPoint({ x: jwk.x ?? '', y: jwk.y ?? '' })).toString('base64url'));

      const raw = readFileSync(devVars, 'utf8');
      expect((await ensureDevVars(devVars, rootKey)).generated).toEqual([]);
      expect(readFileSync(devVars, 'utf8')).toBe(raw);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
