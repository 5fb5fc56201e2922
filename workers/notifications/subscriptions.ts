import { Hono } from 'hono';
import { z } from 'zod';
import { Problem } from '../../lib/errors.ts';
import { generateWebhookSecret } from '../../lib/webhook-signature.ts';
import { subscriptionKeysProblem } from '../../lib/webpush/keys.ts';
import type { ApiEnv } from '../api/current-user.ts';
import { claimsFernet } from '../auth/mint.ts';
import { database, type Database } from '../db.ts';
import { validate } from '../validate.ts';
import { fcmSettings } from './channels/fcm.ts';
import { notificationsConfig } from './config.ts';
import { channelUnavailable, invalid, noSubscription, parseOr400, tooManySubscriptions } from './problems.ts';
import { fcmBody, subscriptionParams, webhookBody, webPushBody } from './schemas.ts';
import {
  countSubscriptions, deleteSubscriptions, findByTarget, findSubscription, insertSubscription, listSubscriptions,
  subscriptionView, updateWebPushKeys, type SubscriptionKind, type SubscriptionRow,
} from './subscription-store.ts';
import { checkTargetUrl } from './target-url.ts';
import { vapidKeys } from './vapid-keys.ts';

type Created = { row: SubscriptionRow; created: boolean; secret?: string };

async function create(db: Database, userId: string, max: number, kind: SubscriptionKind, target: string, secrets: Partial<Pick<SubscriptionRow, 'p256dh' | 'authSecret' | 'webhookSecret'>>): Promise<SubscriptionRow> {
  if ((await countSubscriptions(db, userId)) >= max) throw tooManySubscriptions(max);
  const row = await insertSubscription(db, { id: crypto.randomUUID(), userId, kind, target, p256dh: null, authSecret: null, webhookSecret: null, ...secrets });
  if (row) return row;
  throw new Problem(409, 'Conflict', { detail: 'You subscribed this target meanwhile; list your subscriptions.', type: 'urn:gatehouse:problem:conflict' });
}

async function subscribeWebPush(env: Env, db: Database, userId: string, body: z.output<typeof webPushBody>): Promise<Created> {
  const config = notificationsConfig(env);
  const vapid = vapidKeys(env);
  if (!vapid) throw channelUnavailable('Web Push', 'VAPID_PRIVATE_KEY');
  await vapid; // a key that is set but unreadable fails here (500, logged), not later in every delivery
  const endpoint = checkTargetUrl(body.endpoint, { devMode: config.devMode, what: 'endpoint' });
  if (!endpoint.ok) throw invalid([{ path: 'endpoint', message: endpoint.reason }]);
  const problem = await subscriptionKeysProblem(body.keys.p256dh, body.keys.auth);
  if (problem) throw invalid([{ path: problem.startsWith('keys.auth') ? 'keys.auth' : 'keys.p256dh', message: problem }]);
  const keys = { p256dh: body.keys.p256dh.replace(/=+$/, ''), authSecret: await claimsFernet(env).encrypt(body.keys.auth.replace(/=+$/, '')) };
  // A browser re-subscribing to the same endpoint (new keys, same push channel) updates the subscription it had.
  const existing = await findByTarget(db, userId, 'webpush', endpoint.url.href);
  if (existing) return { row: (await updateWebPushKeys(db, existing.id, keys)) ?? existing, created: false };
  return { row: await create(db, userId, config.maxSubscriptionsPerUser, 'webpush', endpoint.url.href, keys), created: true };
}

async function subscribeFcm(env: Env, db: Database, userId: string, body: z.output<typeof fcmBody>): Promise<Created> {
  const config = notificationsConfig(env);
  if (!fcmSettings(env, config)) throw channelUnavailable('FCM', 'FCM_SERVICE_ACCOUNT');
  const existing = await findByTarget(db, userId, 'fcm', body.fcmToken);
  if (existing) return { row: existing, created: false };
  return { row: await create(db, userId, config.maxSubscriptionsPerUser, 'fcm', body.fcmToken, {}), created: true };
}

async function subscribeWebhook(env: Env, db: Database, userId: string, body: z.output<typeof webhookBody>): Promise<Created> {
  const config = notificationsConfig(env);
  const url = checkTargetUrl(body.url, { devMode: config.devMode, what: 'the webhook URL' });
  if (!url.ok) throw invalid([{ path: 'url', message: url.reason }]);
  if (await findByTarget(db, userId, 'webhook', url.url.href)) {
    throw new Problem(409, 'Conflict', { detail: 'You already have a webhook for this URL; its secret was shown once. Delete it to get a new secret.', type: 'urn:gatehouse:problem:conflict' });
  }
  const secret = generateWebhookSecret();
  const row = await create(db, userId, config.maxSubscriptionsPerUser, 'webhook', url.url.href, { webhookSecret: await claimsFernet(env).encrypt(secret) });
  return { row, created: true, secret };
}

/** The request body, told apart by its members: `endpoint` (Web Push), `fcmToken` (FCM) or `url` (webhook). */
const anyObject = z.record(z.string(), z.unknown());

/**
 * `GET /api/notifications/vapid-public-key`, `POST|GET /api/notifications/subscriptions`,
 * `GET|DELETE /api/notifications/subscriptions/:id`: the caller's subscriptions. Mounted behind the Client API's
 * front door (rate limits, bearer authentication, the caller's user row).
 */
export const subscriptions = new Hono<ApiEnv>()
  .get('/vapid-public-key', async (c) => {
    const keys = vapidKeys(c.env);
    if (!keys) throw channelUnavailable('Web Push', 'VAPID_PRIVATE_KEY');
    c.header('Cache-Control', 'private, max-age=3600');
    return c.json({ publicKey: (await keys).publicKey });
  })
  .post('/subscriptions', validate('json', anyObject), async (c) => {
    const db = database(c.env.DB);
    const userId = c.get('user').id;
    const raw = c.req.valid('json');
    let result: Created;
    if ('endpoint' in raw) result = await subscribeWebPush(c.env, db, userId, parseOr400(webPushBody, raw));
    else if ('fcmToken' in raw) result = await subscribeFcm(c.env, db, userId, parseOr400(fcmBody, raw));
    else if ('url' in raw) result = await subscribeWebhook(c.env, db, userId, parseOr400(webhookBody, raw));
    else throw invalid([{ path: 'json', message: 'expected a PushSubscription ({endpoint, keys}), {fcmToken} or {url}' }]);
    c.get('log').info('notification subscription saved', { subscriptionId: result.row.id, kind: result.row.kind, created: result.created });
    c.header('Cache-Control', 'no-store');
    const view = subscriptionView(result.row);
    return c.json(result.secret ? { ...view, secret: result.secret } : view, result.created ? 201 : 200);
  })
  .get('/subscriptions', async (c) => {
    const rows = await listSubscriptions(database(c.env.DB), c.get('user').id);
    return c.json({ subscriptions: rows.map(subscriptionView) });
  })
  .get('/subscriptions/:id', validate('param', subscriptionParams), async (c) => {
    const { id } = c.req.valid('param');
    const row = await findSubscription(database(c.env.DB), c.get('user').id, id);
    if (!row) throw noSubscription(id);
    return c.json(subscriptionView(row));
  })
  .delete('/subscriptions/:id', validate('param', subscriptionParams), async (c) => {
    const { id } = c.req.valid('param');
    if ((await deleteSubscriptions(database(c.env.DB), [id], c.get('user').id)) === 0) throw noSubscription(id);
    return c.body(null, 204);
  });
