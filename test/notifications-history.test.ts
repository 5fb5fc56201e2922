import { describe, expect, it } from 'vitest';
import { consumeQueue } from '../workers/notifications/consumer.ts';
import { call, callWith, expectProblem, json } from './gateway.test-fixture.ts';
import { batchOf, deviceWithUsers, envWith, queued, queueMessage, upstream } from './notifications.test-fixture.ts';

type Page = { deliveries: { messageId: string; subscriptionId: string; kind: string; status: string; attempts: number; lastError: string | null }[]; next: string | null };

describe('GET /api/notifications/deliveries', () => {
  it('pages the caller’s own history newest first, filters by subscription, and never shows another user’s', async () => {
    const { device, people } = await deviceWithUsers(['owner', 'viewer']);
    const [me, other] = people;
    const subscribe = async (token: string, url: string) => ((await (await callWith({}, '/api/notifications/subscriptions', token, json('POST', { url }))).json()) as { id: string }).id;
    const good = await subscribe(me!.token, 'https://hooks.example.com/good');
    const bad = await subscribe(me!.token, 'https://hooks.example.com/bad');
    const theirs = await subscribe(other!.token, 'https://hooks.example.com/theirs');
    const hooks = upstream((req) => new Response(null, { status: req.url.endsWith('/bad') ? 422 : 200 }));
    const messages = [queueMessage(device.id), queueMessage(device.id), queueMessage(device.id)];
    for (const m of messages) {
      const { message } = queued(m);
      await consumeQueue(batchOf('gatehouse-notifications', [message]), envWith({}), undefined, { fetch: hooks.fetch });
      await new Promise((r) => setTimeout(r, 5));
    }

    const seen: Page['deliveries'] = [];
    let next: string | null = null;
    do {
      const res = await call(`/api/notifications/deliveries?limit=4${next ? `&after=${next}` : ''}`, me!.token);
      expect(res.status).toBe(200);
      const page = (await res.json()) as Page;
      expect(page.deliveries.length).toBeLessThanOrEqual(4);
      seen.push(...page.deliveries);
      next = page.next;
    } while (next);
    expect(seen).toHaveLength(6);
    expect(new Set(seen.map((d) => d.subscriptionId))).toEqual(new Set([good, bad]));
    expect(seen.map((d) => d.messageId).filter((_, i) => i % 2 === 0)).toEqual(messages.map((m) => m.id).reverse());
    expect(seen.find((d) => d.subscriptionId === bad)).toMatchObject({ kind: 'webhook', status: 'failed', attempts: 1, lastError: 'HTTP 422' });
    expect(seen.some((d) => d.subscriptionId === theirs)).toBe(false);

    const filtered = (await (await call(`/api/notifications/deliveries?subscriptionId=${good}`, me!.token)).json()) as Page;
    expect(filtered.deliveries.map((d) => d.status)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(((await (await call(`/api/notifications/deliveries?subscriptionId=${theirs}`, me!.token)).json()) as Page).deliveries).toEqual([]);

    expect((await expectProblem(await call('/api/notifications/deliveries?after=bm90LWEtY3Vyc29y', me!.token), 400)).errors?.[0]?.path).toBe('after');
    expect((await expectProblem(await call('/api/notifications/deliveries?limit=500', me!.token), 400)).errors?.[0]?.path).toBe('limit');
  });
});
