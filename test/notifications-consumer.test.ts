import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { fromUtf8 } from '../lib/encoding.ts';
import { verifyWebhook } from '../lib/webhook-signature.ts';
import { decryptAes128gcm } from '../lib/webpush/aes128gcm.ts';
import { fromBase64Url, pointToJwk } from '../lib/webpush/keys.ts';
import { consumeQueue } from '../workers/notifications/consumer.ts';
import { callWith, json } from './gateway.test-fixture.ts';
import {
  apiUser, batchOf, browserSubscription, deliveriesOf, deviceWithUsers, disable, envWith, queued, queueMessage, subscriptionRow, upstream, VAPID_PRIVATE_KEY, type Upstream,
} from './notifications.test-fixture.ts';
import { addMember, createOrg, seedOrgDevice } from './orgs.test-fixture.ts';

const MAIN = 'gatehouse-notifications';
const VARS = { VAPID_PRIVATE_KEY, VAPID_SUBJECT: 'mailto:ops@example.com', NOTIFY_RETRY_BASE_SECONDS: '10' };

async function subscribe(token: string, body: unknown): Promise<{ id: string; secret?: string }> {
  const res = await callWith(VARS, '/api/notifications/subscriptions', token, json('POST', body));
  expect(res.status).toBe(201);
  return res.json();
}

async function run(body: unknown, fetcher: typeof fetch, opts: { attempts?: number; queue?: string; vars?: Record<string, unknown> } = {}) {
  const { message, record } = queued(body, opts.attempts ?? 1);
  await consumeQueue(batchOf(opts.queue ?? MAIN, [message]), envWith({ ...VARS, ...opts.vars }), undefined, { fetch: fetcher, random: () => 0 });
  return record;
}

const webhookSecretOf = (req: Upstream, secrets: Map<string, string>) => secrets.get(new URL(req.url).pathname) ?? '';

describe('queue consumer: fan-out', () => {
  it('reaches every role (owner … viewer) on the device, but no outsider or disabled user, and records each delivery', async () => {
    const { device, people } = await deviceWithUsers(['owner', 'admin', 'operator', 'viewer', 'viewer']);
    const [owner, admin, operator, viewer, disabled] = people;
    const secrets = new Map<string, string>();
    for (const [i, p] of [owner, admin, operator, viewer, disabled].entries()) {
      const sub = await subscribe(p!.token, { url: `https://hooks.example.com/u${i}` });
      secrets.set(`/u${i}`, sub.secret ?? '');
    }
    const outsider = await deviceWithUsers(['owner']);
    await subscribe(outsider.people[0]!.token, { url: 'https://hooks.example.com/outsider' });
    await disable(disabled!.user.id);

    const message = queueMessage(device.id);
    const hooks = upstream(() => new Response(null, { status: 204 }));
    const record = await run(message, hooks.fetch);
    expect(record).toEqual({ acked: true, retried: false, delaySeconds: undefined });
    expect(hooks.seen.map((r) => new URL(r.url).pathname).sort()).toEqual(['/u0', '/u1', '/u2', '/u3']);

    for (const req of hooks.seen) {
      const body = fromUtf8(req.body);
      expect(req.headers.get('content-type')).toBe('application/json');
      expect(req.headers.get('webhook-id')).toBe(message.id);
      const ok = await verifyWebhook(webhookSecretOf(req, secrets), { id: req.headers.get('webhook-id') ?? '', timestamp: req.headers.get('webhook-timestamp') ?? '', signature: req.headers.get('webhook-signature') ?? '' }, body);
      expect(ok).toBe(true);
      expect(JSON.parse(body)).toMatchObject({ type: 'device.notification', data: { id: message.id, deviceId: device.id, deviceName: 'Boiler room', title: 'Pressure high', severity: 'high', data: { bar: 3.1 } } });
    }
    const rows = Object.values(await deliveriesOf(message.id));
    expect(rows).toHaveLength(4);
    expect(rows.every((r) => r.status === 'delivered' && r.attempts === 1 && r.lastError === null && typeof r.latencyMs === 'number')).toBe(true);
  });

  it('reaches every member of the device’s organisation, once each, even a member who also holds a direct role', async () => {
    const [owner, member, both, outsider] = await Promise.all([0, 1, 2, 3].map(() => apiUser()));
    const org = await createOrg(owner!.token);
    await addMember(owner!.token, org.id, member!.user.id, 'member');
    await addMember(owner!.token, org.id, both!.user.id, 'admin');
    const device = await seedOrgDevice(org.id, [[both!.user.id, 'viewer']]);
    for (const [name, p] of Object.entries({ owner, member, both, outsider })) await subscribe(p!.token, { url: `https://hooks.example.com/${name}` });

    const message = queueMessage(device.id);
    const hooks = upstream(() => new Response(null, { status: 204 }));
    await run(message, hooks.fetch);
    expect(hooks.seen.map((r) => new URL(r.url).pathname).sort()).toEqual(['/both', '/member', '/owner']);
    expect(Object.values(await deliveriesOf(message.id)).map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('encrypts Web Push with aes128gcm for the subscription key and signs VAPID for the push service origin', async () => {
    const { device, people } = await deviceWithUsers(['viewer']);
    const browser = await browserSubscription('https://push.example.net/wpush/v2/token-1');
    await subscribe(people[0]!.token, browser.json);
    const message = queueMessage(device.id, { severity: 'critical' });
    const push = upstream(() => new Response(null, { status: 201 }));
    expect((await run(message, push.fetch)).acked).toBe(true);

    const [req] = push.seen;
    expect(req?.url).toBe('https://push.example.net/wpush/v2/token-1');
    expect(req?.headers.get('content-encoding')).toBe('aes128gcm');
    expect(req?.headers.get('urgency')).toBe('high');
    expect(req?.headers.get('ttl')).toBe('86400');
    const plaintext = await decryptAes128gcm(req!.body, browser);
    expect(JSON.parse(fromUtf8(plaintext))).toMatchObject({ id: message.id, title: 'Pressure high', severity: 'critical', deviceName: 'Boiler room' });

    const match = /^vapid t=([^,]+), k=([A-Za-z0-9_-]+)$/.exec(req?.headers.get('authorization') ?? '');
    expect(match).not.toBeNull();
    expect(decodeProtectedHeader(match![1]!)).toEqual({ typ: 'JWT', alg: 'ES256' });
    const { payload } = await jwtVerify(match![1]!, await importJWK(pointToJwk(fromBase64Url(match![2]!)), 'ES256'));
    expect(payload.aud).toBe('https://push.example.net');
    expect(payload.sub).toBe('mailto:ops@example.com');
    expect(payload.exp! - Date.now() / 1000).toBeLessThanOrEqual(24 * 3600);
  });
});

describe('queue consumer: retries, idempotency, gone and dead', () => {
  it('retries only what failed, honouring Retry-After, and never re-sends a delivered subscription', async () => {
    const { device, people } = await deviceWithUsers(['owner', 'viewer']);
    const ok = await subscribe(people[0]!.token, { url: 'https://hooks.example.com/ok' });
    const flaky = await subscribe(people[1]!.token, { url: 'https://hooks.example.com/flaky' });
    const message = queueMessage(device.id);

    const first = upstream((req) => (req.url.endsWith('/ok') ? new Response('ok') : new Response('busy', { status: 503, headers: { 'Retry-After': '120' } })));
    expect(await run(message, first.fetch)).toEqual({ acked: false, retried: true, delaySeconds: 120 });
    let rows = await deliveriesOf(message.id);
    expect(rows[ok.id]).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(rows[flaky.id]).toMatchObject({ status: 'retrying', attempts: 1, lastError: 'HTTP 503' });

    const second = upstream(() => new Response(null, { status: 502 }));
    expect(await run(message, second.fetch, { attempts: 2 })).toEqual({ acked: false, retried: true, delaySeconds: 10 });
    expect(second.seen.map((r) => r.url)).toEqual(['https://hooks.example.com/flaky']);

    const third = upstream(() => new Response('thanks'));
    expect((await run(message, third.fetch, { attempts: 3 })).acked).toBe(true);
    expect(third.seen.map((r) => r.url)).toEqual(['https://hooks.example.com/flaky']);
    rows = await deliveriesOf(message.id);
    expect(rows[flaky.id]).toMatchObject({ status: 'delivered', attempts: 3, lastError: null });
    expect(rows[ok.id]).toMatchObject({ status: 'delivered', attempts: 1 });

    const redelivered = upstream(() => new Response('thanks'));
    expect((await run(message, redelivered.fetch, { attempts: 4 })).acked).toBe(true);
    expect(redelivered.seen).toEqual([]);
  });

  it('backs off exponentially, and retries network errors and timeouts', async () => {
    const { device, people } = await deviceWithUsers(['owner']);
    await subscribe(people[0]!.token, { url: 'https://hooks.example.com/down' });
    const message = queueMessage(device.id);
    const down = (async () => {
      throw new TypeError('connection refused');
    }) as typeof fetch;
    // random() = 0 gives the lower edge of the jitter: base × 2^(attempt−1) / 2.
    expect((await run(message, down, { attempts: 1 })).delaySeconds).toBe(5);
    expect((await run(message, down, { attempts: 3 })).delaySeconds).toBe(20);
    expect((await run(message, down, { attempts: 5 })).delaySeconds).toBe(80);
    const row = Object.values(await deliveriesOf(message.id))[0];
    expect(row).toMatchObject({ status: 'retrying', attempts: 3, lastError: 'network error' });
  });

  it('removes subscriptions the push service says are gone (404/410), and fails a 400 for good', async () => {
    const { device, people } = await deviceWithUsers(['owner', 'viewer']);
    const gone = await subscribe(people[0]!.token, (await browserSubscription('https://push.example.net/gone')).json);
    const webhookGone = await subscribe(people[0]!.token, { url: 'https://hooks.example.com/unsubscribed' });
    const bad = await subscribe(people[1]!.token, { url: 'https://hooks.example.com/strict' });
    const message = queueMessage(device.id);
    const answers = upstream((req) => new Response(null, { status: req.url.endsWith('/gone') ? 404 : req.url.endsWith('/unsubscribed') ? 410 : 400 }));
    expect((await run(message, answers.fetch)).acked).toBe(true);
    expect(await subscriptionRow(gone.id)).toBeUndefined();
    expect(await subscriptionRow(webhookGone.id)).toBeUndefined();
    const rows = await deliveriesOf(message.id);
    expect(Object.keys(rows)).toEqual([bad.id]);
    expect(rows[bad.id]).toMatchObject({ status: 'failed', attempts: 1, lastError: 'HTTP 400' });

    const again = upstream(() => new Response('ok'));
    expect((await run(message, again.fetch, { attempts: 2 })).acked).toBe(true);
    expect(again.seen).toEqual([]);
  });

  it('marks what is still undelivered dead when the message reaches the dead-letter queue', async () => {
    const { device, people } = await deviceWithUsers(['owner', 'viewer']);
    const ok = await subscribe(people[0]!.token, { url: 'https://hooks.example.com/fine' });
    const broken = await subscribe(people[1]!.token, { url: 'https://hooks.example.com/broken' });
    const message = queueMessage(device.id);
    await run(message, upstream((req) => new Response(null, { status: req.url.endsWith('/fine') ? 200 : 500 })).fetch);
    const nothing = upstream(() => new Response('unexpected'));
    expect(await run(message, nothing.fetch, { queue: 'gatehouse-notifications-dlq', attempts: 1 })).toEqual({ acked: true, retried: false, delaySeconds: undefined });
    expect(nothing.seen).toEqual([]);
    const rows = await deliveriesOf(message.id);
    expect(rows[ok.id]).toMatchObject({ status: 'delivered' });
    expect(rows[broken.id]).toMatchObject({ status: 'dead', attempts: 1, lastError: 'HTTP 500 (dead-lettered)' });
  });

  it('acknowledges a malformed message without sending anything', async () => {
    const nothing = upstream(() => new Response('unexpected'));
    expect(await run({ v: 1, id: 'nope' }, nothing.fetch)).toEqual({ acked: true, retried: false, delaySeconds: undefined });
    expect(await run({ v: 1, id: 'nope' }, nothing.fetch, { queue: 'gatehouse-notifications-dlq' })).toMatchObject({ acked: true });
    expect(nothing.seen).toEqual([]);
  });
});
