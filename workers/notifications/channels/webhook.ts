/**
 * Webhook delivery: the Standard Webhooks body POSTed as JSON, signed with the subscription's secret
 * (lib/webhook-signature.ts). `webhook-id` is the notification id, the same on every retry, so receivers can drop
 * duplicates; `webhook-timestamp` is the attempt's time. 5xx, 408, 429 and timeouts are retried; 410 unsubscribes.
 */
import { webhookHeaders } from '../../../lib/webhook-signature.ts';
import { claimsFernet } from '../../auth/mint.ts';
import { classifyHttp, type Outcome } from '../outcome.ts';
import { webhookBody } from '../payload.ts';
import type { NotificationMessage } from '../schemas.ts';
import type { SubscriptionRow } from '../subscription-store.ts';
import { checkTargetUrl } from '../target-url.ts';
import { drain, post, type SendContext } from './http.ts';

/** The User-Agent of webhook requests, so receivers can recognise them. */
export const WEBHOOK_USER_AGENT = 'Gatehouse-Webhooks/1';

/** Sends one notification to one webhook and says what came of it. */
export async function sendWebhook(ctx: SendContext, sub: SubscriptionRow, message: NotificationMessage, deviceName: string | null): Promise<Outcome> {
  // Checked again at send time: the rule may be stricter now than when the URL was registered (DEV_MODE turned off).
  const target = checkTargetUrl(sub.target, { devMode: ctx.config.devMode, what: 'the webhook URL' });
  if (!target.ok) return { kind: 'failed', error: target.reason, latencyMs: 0 };
  if (!sub.webhookSecret) return { kind: 'failed', error: 'webhook secret missing', latencyMs: 0 };
  const secret = await claimsFernet(ctx.env).decryptText(sub.webhookSecret);
  const now = ctx.now();
  const body = webhookBody(message, deviceName, now);
  const signed = await webhookHeaders(secret, { id: message.id, timestamp: Math.floor(now / 1000), body });
  const exchange = await post(ctx, target.url.href, { headers: { 'Content-Type': 'application/json', 'User-Agent': WEBHOOK_USER_AGENT, ...signed }, body });
  if (!exchange.ok) return { kind: 'retry', error: exchange.error, latencyMs: exchange.latencyMs };
  await drain(exchange.response);
  return classifyHttp(exchange.response.status, exchange.response.headers.get('retry-after'), 'webhook', exchange.latencyMs, ctx.now());
}
