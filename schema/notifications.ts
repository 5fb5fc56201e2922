import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { at, createdAt } from './columns.ts';
import { users } from './users.ts';

/** Notification channels a subscription can use. */
export const SUBSCRIPTION_KINDS = ['webpush', 'fcm', 'webhook'] as const;

/** Where a user wants device notifications delivered. */
export const notificationSubscriptions = sqliteTable(
  'notification_subscriptions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: SUBSCRIPTION_KINDS }).notNull(),
    /** Web Push endpoint, FCM registration token or webhook URL. */
    target: text('target').notNull(),
    /** Web Push `keys.p256dh` (public, base64url). */
    p256dh: text('p256dh'),
    /** Web Push `keys.auth` (base64url); sensitive, encrypted with Fernet. */
    authSecret: text('auth_secret'),
    /** Webhook signing secret, encrypted with Fernet (shown to the user once). */
    webhookSecret: text('webhook_secret'),
    createdAt: createdAt(),
  },
  (t) => [index('notification_subscriptions_user_idx').on(t.userId), uniqueIndex('notification_subscriptions_target_uq').on(t.userId, t.kind, t.target)],
);

/** Every delivery attempt of a notification message to one subscription. */
export const deliveries = sqliteTable(
  'deliveries',
  {
    id: text('id').primaryKey(),
    messageId: text('message_id').notNull(),
    subscriptionId: text('subscription_id').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'retrying', 'failed', 'dead', 'gone'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    latencyMs: integer('latency_ms'),
    createdAt: createdAt(),
    updatedAt: at('updated_at'),
  },
  (t) => [
    uniqueIndex('deliveries_message_subscription_uq').on(t.messageId, t.subscriptionId),
    index('deliveries_subscription_idx').on(t.subscriptionId),
  ],
);
