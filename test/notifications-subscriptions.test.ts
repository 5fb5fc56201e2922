import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { bytesToBase64Url } from '../lib/encoding.ts';
import { fromBase64Url, jwkToPoint } from '../lib/webpush/keys.ts';
import { claimsFernet } from '../workers/auth/mint.ts';
import { call, callWith, expectBearerError, expectProblem, json } from './gateway.test-fixture.ts';
import { apiUser, browserSubscription, serviceAccount, subscriptionRow, VAPID_PRIVATE_KEY } from './notifications.test-fixture.ts';

const PATH = '/api/notifications/subscriptions';
const WITH_PUSH = { VAPID_PRIVATE_KEY };
const post = (vars: Record<string, unknown>, token: string, body: unknown) => callWith(vars, PATH, token, json('POST', body));

describe('GET /api/notifications/vapid-public-key', () => {
  it('needs a bearer token, answers 409 when Web Push is off, and gives the 65-byte public key', async () => {
    await expectBearerError(await call('/api/notifications/vapid-public-key', null), 401, 'invalid_token');
    const { token } = await apiUser();
    const off = await expectProblem(await callWith({ VAPID_PRIVATE_KEY: '' }, '/api/notifications/vapid-public-key', token), 409);
    expect(off).toMatchObject({ type: 'urn:gatehouse:problem:channel-unavailable', detail: 'Web Push is not configured on this server (VAPID_PRIVATE_KEY is not set).' });
    const res = await callWith(WITH_PUSH, '/api/notifications/vapid-public-key', token);
    expect(res.status).toBe(200);
    const { publicKey } = (await res.json()) as { publicKey: string };
    const jwk = JSON.parse(VAPID_PRIVATE_KEY) as { x: string; y: string };
    expect(publicKey).toBe(bytesToBase64Url(jwkToPoint(jwk)));
    expect(fromBase64Url(publicKey).length).toBe(65);
  });
});

describe('POST /api/notifications/subscriptions: Web Push', () => {
  it('stores a valid PushSubscription (auth secret encrypted) and updates it when the browser re-subscribes', async () => {
    const { token } = await apiUser();
    const sub = await browserSubscription('https://push.example.net/wpush/v2/abc');
    const res = await post(WITH_PUSH, token, sub.json);
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; kind: string; endpoint: string; secret?: string };
    expect(created).toMatchObject({ kind: 'webpush', endpoint: 'https://push.example.net/wpush/v2/abc' });
    expect(created.secret).toBeUndefined();
    const row = await subscriptionRow(created.id);
    expect(row?.p256dh).toBe(sub.json.keys.p256dh);
    expect(row?.authSecret).not.toContain(sub.json.keys.auth);
    expect(await claimsFernet(env).decryptText(row?.authSecret ?? '')).toBe(sub.json.keys.auth);

    const again = await browserSubscription('https://push.example.net/wpush/v2/abc');
    const res2 = await post(WITH_PUSH, token, again.json);
    expect(res2.status).toBe(200);
    expect(((await res2.json()) as { id: string }).id).toBe(created.id);
    expect((await subscriptionRow(created.id))?.p256dh).toBe(again.json.keys.p256dh);
  });

  it('refuses bad endpoints and keys, field by field', async () => {
    const { token } = await apiUser();
    const sub = await browserSubscription('https://push.example.net/x');
    const cases: [unknown, string, number][] = [
      [{ ...sub.json, endpoint: 'http://push.example.net/x' }, 'endpoint', 400],
      [{ ...sub.json, keys: { ...sub.json.keys, p256dh: sub.json.keys.p256dh.slice(0, 60) } }, 'keys.p256dh', 400],
      [{ ...sub.json, keys: { ...sub.json.keys, auth: 'AAAA' } }, 'keys.auth', 400],
      [{ ...sub.json, keys: { p256dh: sub.json.keys.p256dh } }, 'keys.auth', 400],
      [{ ...sub.json, extra: 1 }, 'json', 400],
    ];
    for (const [body, path, status] of cases) {
      const problem = await expectProblem(await post(WITH_PUSH, token, body), status);
      expect(problem.errors?.map((e) => e.path), JSON.stringify(problem)).toContain(path);
    }
    expect((await expectProblem(await post({ ...WITH_PUSH, DEV_MODE: 'false' }, token, { ...sub.json, endpoint: 'https://192.168.1.20/push' }), 400)).errors).toEqual([
      { path: 'endpoint', message: 'endpoint points to a private, loopback or reserved network, which is not allowed' },
    ]);
    expect((await expectProblem(await post({ VAPID_PRIVATE_KEY: '' }, token, sub.json), 409)).type).toBe('urn:gatehouse:problem:channel-unavailable');
  });
});

describe('POST /api/notifications/subscriptions: FCM and webhooks', () => {
  it('takes an FCM token only when FCM is configured, once per token', async () => {
    const { token } = await apiUser();
    const fcmToken = `dT7${'x'.repeat(40)}:APA91b${'y'.repeat(100)}`;
    expect((await expectProblem(await post({ FCM_SERVICE_ACCOUNT: '' }, token, { fcmToken }), 409)).detail).toBe('FCM is not configured on this server (FCM_SERVICE_ACCOUNT is not set).');
    const vars = { FCM_SERVICE_ACCOUNT: (await serviceAccount()).json };
    const res = await post(vars, token, { fcmToken });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ kind: 'fcm', fcmToken });
    expect((await post(vars, token, { fcmToken })).status).toBe(200);
    expect((await expectProblem(await post(vars, token, { fcmToken: 'short' }), 400)).errors?.[0]?.path).toBe('fcmToken');
  });

  it('creates a webhook with a whsec_ secret shown once and stored encrypted; the same URL again is a conflict', async () => {
    const { token } = await apiUser();
    const res = await post({}, token, { url: 'https://hooks.example.com/gatehouse' });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const created = (await res.json()) as { id: string; url: string; secret: string };
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.url).toBe('https://hooks.example.com/gatehouse');
    expect((await subscriptionRow(created.id))?.webhookSecret).not.toContain(created.secret.slice(6));
    const shown = await (await call(`${PATH}/${created.id}`, token)).json();
    expect(shown).toEqual({ id: created.id, kind: 'webhook', url: created.url, createdAt: expect.any(String) });
    expect((await expectProblem(await post({}, token, { url: 'https://hooks.example.com/gatehouse' }), 409)).type).toBe('urn:gatehouse:problem:conflict');
  });

  it('applies the SSRF rule: http only to loopback in DEV_MODE, no private targets in production', async () => {
    const { token } = await apiUser();
    expect((await post({ DEV_MODE: 'true' }, token, { url: 'http://127.0.0.1:9/hook' })).status).toBe(201);
    const httpOut = await expectProblem(await post({ DEV_MODE: 'true' }, token, { url: 'http://hooks.example.com/' }), 400);
    expect(httpOut.errors).toEqual([{ path: 'url', message: 'the webhook URL must use https (http is allowed only to loopback)' }]);
    for (const url of ['https://10.0.0.5/hook', 'https://[fd12::1]/hook', 'https://169.254.169.254/', 'https://localhost/hook', 'http://127.0.0.1:9/hook']) {
      expect((await post({ DEV_MODE: 'false' }, token, { url })).status, url).toBe(400);
    }
  });

  it('refuses a body that is none of the three, and more subscriptions than allowed', async () => {
    const { token } = await apiUser();
    expect((await expectProblem(await post({}, token, { topic: 'x' }), 400)).errors?.[0]?.message).toMatch(/PushSubscription/);
    const limited = { NOTIFY_MAX_SUBSCRIPTIONS_PER_USER: '2' };
    expect((await post(limited, token, { url: 'https://a.example.com/' })).status).toBe(201);
    expect((await post(limited, token, { url: 'https://b.example.com/' })).status).toBe(201);
    expect((await expectProblem(await post(limited, token, { url: 'https://c.example.com/' }), 409)).type).toBe('urn:gatehouse:problem:limit');
  });
});

describe('GET|DELETE /api/notifications/subscriptions[/:id]', () => {
  it('lists, reads and deletes only the caller’s own subscriptions', async () => {
    const alice = await apiUser();
    const bob = await apiUser();
    const a1 = (await (await post({}, alice.token, { url: 'https://a1.example.com/' })).json()) as { id: string };
    const a2 = (await (await post({}, alice.token, { url: 'https://a2.example.com/' })).json()) as { id: string };
    const list = (await (await call(PATH, alice.token)).json()) as { subscriptions: { id: string; secret?: string }[] };
    expect(list.subscriptions.map((s) => s.id).sort()).toEqual([a1.id, a2.id].sort());
    expect(list.subscriptions.every((s) => s.secret === undefined)).toBe(true);
    expect(((await (await call(PATH, bob.token)).json()) as { subscriptions: unknown[] }).subscriptions).toEqual([]);

    await expectProblem(await call(`${PATH}/${a1.id}`, bob.token), 404);
    await expectProblem(await call(`${PATH}/${a1.id}`, bob.token, { method: 'DELETE' }), 404);
    expect((await call(`${PATH}/${a1.id}`, alice.token, { method: 'DELETE' })).status).toBe(204);
    await expectProblem(await call(`${PATH}/${a1.id}`, alice.token), 404);
    expect(await subscriptionRow(a1.id)).toBeUndefined();
    expect((await subscriptionRow(a2.id))?.id).toBe(a2.id);
    expect((await expectProblem(await call(`${PATH}/not-a-uuid`, alice.token), 400)).errors?.[0]?.path).toBe('id');
  });
});
