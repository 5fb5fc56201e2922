/**
 * Web Push delivery (RFC 8030 §5) with `aes128gcm` encryption (RFC 8291) and VAPID (RFC 8292). The VAPID JWT of each
 * push service origin is reused for up to 11 of its 12 hours, so a fan-out signs once per push service, not per message.
 */
import { buildPushRequest } from '../../../lib/webpush/request.ts';
import { pushAudience, signVapidJwt, vapidAuthorization, type VapidKeys } from '../../../lib/webpush/vapid.ts';
import { claimsFernet } from '../../auth/mint.ts';
import { classifyHttp, type Outcome } from '../outcome.ts';
import { URGENCY, webPushPayload } from '../payload.ts';
import type { NotificationMessage } from '../schemas.ts';
import type { SubscriptionRow } from '../subscription-store.ts';
import { checkTargetUrl } from '../target-url.ts';
import { vapidKeys } from '../vapid-keys.ts';
import { drain, post, type SendContext } from './http.ts';

const JWT_LIFETIME_S = 12 * 3600;
const JWT_REUSE_MARGIN_S = 3600;
const jwts = new Map<string, { header: string; expiresAt: number }>();

/** The `Authorization` value for a push service origin, signed anew when the cached one has less than an hour left. */
export async function vapidHeaderFor(keys: VapidKeys, audience: string, subject: string, now: number): Promise<string> {
  const key = `${keys.publicKey}|${audience}|${subject}`;
  const nowS = Math.floor(now / 1000);
  const cached = jwts.get(key);
  if (cached && cached.expiresAt - JWT_REUSE_MARGIN_S > nowS) return cached.header;
  const expiresAt = nowS + JWT_LIFETIME_S;
  const header = vapidAuthorization(await signVapidJwt({ audience, subject, keys, expiresAt, now }), keys.publicKey);
  if (jwts.size > 1000) jwts.clear();
  jwts.set(key, { header, expiresAt });
  return header;
}

/** Sends one notification to one Web Push subscription and says what came of it. */
export async function sendWebPush(ctx: SendContext, sub: SubscriptionRow, message: NotificationMessage, deviceName: string | null): Promise<Outcome> {
  const keys = await vapidKeys(ctx.env);
  if (!keys) return { kind: 'failed', error: 'Web Push is not configured (VAPID_PRIVATE_KEY)', latencyMs: 0 };
  const target = checkTargetUrl(sub.target, { devMode: ctx.config.devMode, what: 'endpoint' });
  if (!target.ok) return { kind: 'failed', error: target.reason, latencyMs: 0 };
  if (!sub.p256dh || !sub.authSecret) return { kind: 'failed', error: 'subscription keys missing', latencyMs: 0 };
  let payload: string;
  try {
    payload = webPushPayload(message, deviceName);
  } catch (err) {
    return { kind: 'failed', error: err instanceof Error ? err.message : 'payload too large', latencyMs: 0 };
  }
  const auth = await claimsFernet(ctx.env).decryptText(sub.authSecret);
  const request = await buildPushRequest({
    subscription: { endpoint: target.url.href, keys: { p256dh: sub.p256dh, auth } },
    payload,
    authorization: await vapidHeaderFor(keys, pushAudience(target.url.href), ctx.config.vapidSubject, ctx.now()),
    ttlSeconds: ctx.config.webPushTtlSeconds,
    urgency: URGENCY[message.payload.severity],
  });
  const exchange = await post(ctx, request.url, { headers: request.init.headers, body: request.init.body });
  if (!exchange.ok) return { kind: 'retry', error: exchange.error, latencyMs: exchange.latencyMs };
  await drain(exchange.response);
  return classifyHttp(exchange.response.status, exchange.response.headers.get('retry-after'), 'push', exchange.latencyMs, ctx.now());
}
