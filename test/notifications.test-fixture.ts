import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { bytesToBase64Url } from '../lib/encoding.ts';
import { generateVapidPrivateJwk } from '../lib/webpush/keys.ts';
import { deliveries, notificationSubscriptions, users } from '../schema/index.ts';
import { seedDevice } from './api.test-fixture.ts';
import { signOwn } from './gateway.test-fixture.ts';
import { db, seedUser } from './support/auth-fixtures.ts';

/** One VAPID key for the whole run, as setup would generate it. */
export const VAPID_PRIVATE_KEY = JSON.stringify(await generateVapidPrivateJwk());

/** A user with an access token the Client API accepts. */
export async function apiUser(overrides: Parameters<typeof seedUser>[0] = {}) {
  const user = await seedUser(overrides);
  return { user, token: await signOwn({ sub: user.id, username: user.username, client_id: 'notifications-test' }) };
}

/** A device shared with fresh users, one per role given (plus any existing user ids). */
export async function deviceWithUsers(roles: ('owner' | 'admin' | 'operator' | 'viewer')[]) {
  const people = await Promise.all(roles.map(() => apiUser()));
  const device = await seedDevice({ members: people.map((p, i) => [p.user.id, roles[i] ?? 'viewer']), certificate: true, name: 'Boiler room' });
  return { device, people };
}

/** A browser-like Web Push subscription: a fresh P-256 key pair and auth secret, private half kept for decrypting. */
export async function browserSubscription(endpoint: string) {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
  const uaPublic = new Uint8Array((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer);
  const authSecret = crypto.getRandomValues(new Uint8Array(16));
  return { json: { endpoint, expirationTime: null, keys: { p256dh: bytesToBase64Url(uaPublic), auth: bytesToBase64Url(authSecret) } }, uaPrivate: pair.privateKey, uaPublic, authSecret };
}

/** The stored subscription row. */
export const subscriptionRow = (id: string) => db().query.notificationSubscriptions.findFirst({ where: eq(notificationSubscriptions.id, id) });

/** The stored deliveries of one message, by subscription id. */
export async function deliveriesOf(messageId: string) {
  const rows = await db().select().from(deliveries).where(eq(deliveries.messageId, messageId));
  return Object.fromEntries(rows.map((r) => [r.subscriptionId, r]));
}

/** Disables a user. */
export const disable = (userId: string) => db().update(users).set({ enabled: false }).where(eq(users.id, userId));

/** A queue message as the device route enqueues it. */
export const queueMessage = (deviceId: string, payload: Record<string, unknown> = {}) => ({
  v: 1 as const,
  id: crypto.randomUUID(),
  deviceId,
  createdAt: Date.now(),
  payload: { title: 'Pressure high', body: 'Boiler at 3.1 bar', severity: 'high' as const, data: { bar: 3.1 }, ...payload },
});

/** A message as the queue hands it over, recording whether the consumer acked or retried it. */
export function queued<T>(body: T, attempts = 1) {
  const record: { acked: boolean; retried: boolean; delaySeconds: number | undefined } = { acked: false, retried: false, delaySeconds: undefined };
  const message = {
    id: crypto.randomUUID(),
    timestamp: new Date(),
    body,
    attempts,
    ack: () => void (record.acked = true),
    retry: (opts?: { delaySeconds?: number }) => {
      record.retried = true;
      record.delaySeconds = opts?.delaySeconds;
    },
  };
  return { message: message as unknown as Message<unknown>, record };
}

/** A batch of one queue's messages. */
export const batchOf = (queue: string, messages: Message<unknown>[]) =>
  ({ queue, messages, ackAll: () => undefined, retryAll: () => undefined, metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } }) as unknown as MessageBatch<unknown>;

/** One request the consumer made upstream. */
export type Upstream = { url: string; method: string; headers: Headers; body: Uint8Array<ArrayBuffer> };

/** A scripted upstream: records each request and answers with the first matching handler. */
export function upstream(handler: (req: Upstream, seen: Upstream[]) => Response | Promise<Response>) {
  const seen: Upstream[] = [];
  const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const req = { url: request.url, method: request.method, headers: request.headers, body: new Uint8Array(await request.arrayBuffer()) };
    seen.push(req);
    return handler(req, seen);
  }) as typeof fetch;
  return { fetch: fetcher, seen };
}

/** The env with extra vars (VAPID, FCM, limits …). */
export const envWith = (vars: Record<string, unknown>) => ({ ...env, ...vars }) as Env;

/** Asserts the response status, printing the body when it differs. */
export async function expectStatus(res: Response, status: number): Promise<void> {
  if (res.status !== status) expect(`${res.status} ${await res.clone().text()}`).toBe(String(status));
}

/** A Google service-account key file for FCM, with a fresh RSA key; `publicKey` verifies its assertions. */
export async function serviceAccount(overrides: Record<string, unknown> = {}) {
  const pair = (await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const der = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer);
  const b64 = btoa(String.fromCharCode(...der)).replace(/.{64}/g, '$&\n');
  const key = {
    type: 'service_account',
    project_id: 'gatehouse-test',
    private_key_id: 'kid-1',
    private_key: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`,
    client_email: `fcm-${crypto.randomUUID().slice(0, 6)}@gatehouse-test.iam.gserviceaccount.com`,
    ...overrides,
  };
  return { json: JSON.stringify(key), email: key.client_email, publicKey: pair.publicKey };
}
