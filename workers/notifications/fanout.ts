/**
 * One `NOTIFICATIONS` message, fanned out: every subscription of the device's users (at least `viewer`) that has no
 * final status for this message yet gets one attempt, at most `NOTIFY_CONCURRENCY` at a time; each attempt is
 * recorded; gone subscriptions are removed; and the message is acknowledged, or retried after a backoff when any
 * attempt is worth repeating. A redelivered message therefore never re-sends what was already delivered.
 */
import { database } from '../db.ts';
import type { Logger } from '../middleware/logger.ts';
import { sendFcm } from './channels/fcm.ts';
import type { SendContext } from './channels/http.ts';
import { sendWebhook } from './channels/webhook.ts';
import { sendWebPush } from './channels/webpush.ts';
import { notificationsConfig } from './config.ts';
import { loadTargets, recordOutcomes, type Target } from './delivery-store.ts';
import { FINAL_STATUSES, retryDelaySeconds, type Outcome } from './outcome.ts';
import type { NotificationMessage } from './schemas.ts';
import { deleteSubscriptions } from './subscription-store.ts';

/** What the consumer should do with the message. */
export type FanOutDecision = { action: 'ack' } | { action: 'retry'; delaySeconds: number };

/** The decision and what the attempts came to, for logs and tests. */
export type FanOutResult = FanOutDecision & { sent: number; skipped: number; counts: Record<Outcome['kind'], number> };

/** The I/O the fan-out uses, replaceable in tests (the upstreams) and benchmarks. */
export type FanOutDeps = { fetch: typeof fetch; now: () => number; random: () => number; log?: Logger };

const SENDERS = { webpush: sendWebPush, fcm: sendFcm, webhook: sendWebhook } as const;

/** Runs `fn` over `items` with at most `limit` in flight, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function attempt(ctx: SendContext, target: Target, message: NotificationMessage, deviceName: string | null, log?: Logger): Promise<Outcome> {
  try {
    return await SENDERS[target.sub.kind](ctx, target.sub, message, deviceName);
  } catch (err) {
    // A bug or an unreadable secret: retried (and dead-lettered if it persists), never silently dropped.
    log?.error('delivery attempt threw', { subscriptionId: target.sub.id, error: err instanceof Error ? err.name : 'error' });
    return { kind: 'retry', error: 'internal error', latencyMs: 0 };
  }
}

/** Delivers one message (the `attempt`-th time the queue hands it over) and decides between ack and retry. */
export async function fanOut(env: Env, message: NotificationMessage, queueAttempt: number, deps: FanOutDeps): Promise<FanOutResult> {
  const config = notificationsConfig(env);
  const db = database(env.DB);
  const ctx: SendContext = { env, config, fetch: deps.fetch, now: deps.now };
  const { deviceName, targets } = await loadTargets(db, message.id, message.deviceId);
  const todo = targets.filter((t) => t.status === null || !FINAL_STATUSES.has(t.status));
  const outcomes = await mapLimit(todo, config.concurrency, (t) => attempt(ctx, t, message, deviceName, deps.log));
  const results = todo.map((t, i) => ({ subscriptionId: t.sub.id, outcome: outcomes[i] as Outcome }));
  await recordOutcomes(db, message.id, results, deps.now());
  const gone = results.filter((r) => r.outcome.kind === 'gone').map((r) => r.subscriptionId);
  if (gone.length) {
    await deleteSubscriptions(db, gone);
    deps.log?.info('removed gone subscriptions', { messageId: message.id, count: gone.length });
  }
  const counts = { delivered: 0, retry: 0, gone: 0, failed: 0 };
  for (const o of outcomes) counts[o.kind]++;
  const summary = { sent: todo.length, skipped: targets.length - todo.length, counts };
  const retries = outcomes.filter((o) => o.kind === 'retry');
  if (retries.length === 0) return { action: 'ack', ...summary };
  return { action: 'retry', delaySeconds: retryDelaySeconds(queueAttempt, retries, config, deps.random), ...summary };
}
