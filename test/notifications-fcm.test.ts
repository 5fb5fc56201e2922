import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { fromUtf8 } from '../lib/encoding.ts';
import { consumeQueue } from '../workers/notifications/consumer.ts';
import { callWith, json } from './gateway.test-fixture.ts';
import { batchOf, deliveriesOf, deviceWithUsers, envWith, queued, queueMessage, serviceAccount, subscriptionRow, upstream, type Upstream } from './notifications.test-fixture.ts';

const TOKEN_URL = 'https://oauth.fcm-test.example/token';
const ENDPOINT = 'https://fcm-test.example';

type Account = Awaited<ReturnType<typeof serviceAccount>>;

/** A faithful FCM stand-in: the token endpoint checks the JWT grant; messages:send follows `answers` in turn. */
function fcmStandIn(account: Account, answers: (() => Response)[]) {
  let minted = 0;
  const issued = new Set<string>();
  const service = upstream(async (req: Upstream) => {
    if (req.url === TOKEN_URL) {
      const form = new URLSearchParams(fromUtf8(req.body));
      expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
      const { payload, protectedHeader } = await jwtVerify(form.get('assertion') ?? '', account.publicKey, { audience: TOKEN_URL, issuer: account.email, algorithms: ['RS256'] });
      expect(protectedHeader.kid).toBe('kid-1');
      expect(payload.scope).toBe('https://www.googleapis.com/auth/firebase.messaging');
      expect(payload.exp! - payload.iat!).toBe(3600);
      const token = `ya29.test-${++minted}`;
      issued.add(token);
      return Response.json({ access_token: token, expires_in: 3599, token_type: 'Bearer' });
    }
    expect(req.url).toBe(`${ENDPOINT}/v1/projects/gatehouse-test/messages:send`);
    if (!issued.has((req.headers.get('authorization') ?? '').replace(/^Bearer /, ''))) return Response.json({ error: { code: 401, status: 'UNAUTHENTICATED' } }, { status: 401 });
    const next = answers.shift();
    if (!next) throw new Error('no answer scripted');
    return next();
  });
  return { ...service, minted: () => minted, revokeAll: () => issued.clear() };
}

const unregistered = () =>
  Response.json({ error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] } }, { status: 404 });

async function setUp() {
  const account = await serviceAccount();
  const vars = { FCM_SERVICE_ACCOUNT: account.json, FCM_TOKEN_URL: TOKEN_URL, FCM_ENDPOINT: ENDPOINT, NOTIFY_RETRY_BASE_SECONDS: '4' };
  const { device, people } = await deviceWithUsers(['viewer']);
  const fcmToken = `f${crypto.randomUUID().replace(/-/g, '')}:APA91b${'z'.repeat(60)}`;
  const res = await callWith(vars, '/api/notifications/subscriptions', people[0]!.token, json('POST', { fcmToken }));
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  const send = async (body: unknown, fetcher: typeof fetch, attempts = 1) => {
    const { message, record } = queued(body, attempts);
    await consumeQueue(batchOf('gatehouse-notifications', [message]), envWith(vars), undefined, { fetch: fetcher, random: () => 0 });
    return record;
  };
  return { account, device, fcmToken, id, send };
}

describe('queue consumer: FCM HTTP v1', () => {
  it('mints one token from the service account, sends notification + string data, then 429 retries with Retry-After, then UNREGISTERED removes the token', async () => {
    const { account, device, fcmToken, id, send } = await setUp();
    const fcm = fcmStandIn(account, [() => Response.json({ name: 'projects/gatehouse-test/messages/1' }), () => new Response('slow down', { status: 429, headers: { 'Retry-After': '30' } }), unregistered]);

    const first = queueMessage(device.id, { severity: 'critical', data: { bar: 3.1, zone: 'A' } });
    expect((await send(first, fcm.fetch)).acked).toBe(true);
    const sent = JSON.parse(fromUtf8(fcm.seen[1]!.body)) as { message: Record<string, unknown> };
    expect(sent.message).toEqual({
      token: fcmToken,
      notification: { title: 'Pressure high', body: 'Boiler at 3.1 bar' },
      data: { type: 'device.notification', id: first.id, deviceId: device.id, deviceName: 'Boiler room', severity: 'critical', createdAt: new Date(first.createdAt).toISOString(), data: '{"bar":3.1,"zone":"A"}' },
      android: { priority: 'HIGH' },
      apns: { headers: { 'apns-priority': '10' } },
    });
    expect((await deliveriesOf(first.id))[id]).toMatchObject({ status: 'delivered', attempts: 1 });

    const second = queueMessage(device.id, { severity: 'low' });
    expect(await send(second, fcm.fetch)).toEqual({ acked: false, retried: true, delaySeconds: 30 });
    expect((await deliveriesOf(second.id))[id]).toMatchObject({ status: 'retrying', lastError: 'HTTP 429' });
    expect(fcm.minted()).toBe(1);

    expect((await send(second, fcm.fetch, 2)).acked).toBe(true);
    expect(await subscriptionRow(id)).toBeUndefined();
    expect(fcm.minted()).toBe(1);
  });

  it('drops a token FCM no longer accepts (401) and mints a new one on the retry; 5xx is retried', async () => {
    const { account, device, id, send } = await setUp();
    const fcm = fcmStandIn(account, [() => new Response('oops', { status: 500 }), () => Response.json({ name: 'm/2' })]);
    const message = queueMessage(device.id);
    expect(await send(message, fcm.fetch)).toMatchObject({ retried: true, delaySeconds: 2 });
    fcm.revokeAll();
    expect(await send(message, fcm.fetch, 2)).toMatchObject({ retried: true });
    expect((await deliveriesOf(message.id))[id]).toMatchObject({ status: 'retrying', lastError: 'HTTP 401 UNAUTHENTICATED', attempts: 2 });
    expect((await send(message, fcm.fetch, 3)).acked).toBe(true);
    expect(fcm.minted()).toBe(2);
    expect((await deliveriesOf(message.id))[id]).toMatchObject({ status: 'delivered', attempts: 3 });
  });

  it('fails for good on INVALID_ARGUMENT and retries when the token endpoint is down', async () => {
    const { account, device, id, send } = await setUp();
    const down = upstream(() => new Response('unavailable', { status: 503 }));
    const message = queueMessage(device.id);
    expect(await send(message, down.fetch)).toMatchObject({ retried: true });
    expect((await deliveriesOf(message.id))[id]).toMatchObject({ status: 'retrying', lastError: 'FCM auth: token endpoint answered HTTP 503' });
    const fcm = fcmStandIn(account, [() => Response.json({ error: { code: 400, status: 'INVALID_ARGUMENT', details: [{ errorCode: 'INVALID_ARGUMENT' }] } }, { status: 400 })]);
    expect((await send(message, fcm.fetch, 2)).acked).toBe(true);
    expect((await deliveriesOf(message.id))[id]).toMatchObject({ status: 'failed', lastError: 'HTTP 400 INVALID_ARGUMENT' });
    expect((await subscriptionRow(id))?.id).toBe(id);
  });
});
