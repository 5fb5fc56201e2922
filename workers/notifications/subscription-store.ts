import { and, count, desc, eq, inArray, sql } from 'drizzle-orm';
import { deliveries, notificationSubscriptions, type SUBSCRIPTION_KINDS } from '../../schema/index.ts';
import type { Database } from '../db.ts';

/**
 * D1 access for `notification_subscriptions`: per-user create, list, read and delete. Secrets arrive here already
 * encrypted (Fernet); the Web Push `p256dh` key is public and stored in clear.
 */

/** A stored subscription. */
export type SubscriptionRow = typeof notificationSubscriptions.$inferSelect;
/** A notification channel. */
export type SubscriptionKind = (typeof SUBSCRIPTION_KINDS)[number];

/** How many subscriptions a user has. */
export async function countSubscriptions(db: Database, userId: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(notificationSubscriptions).where(eq(notificationSubscriptions.userId, userId));
  return row?.n ?? 0;
}

/** The user's subscription to `target` on `kind`, if any (the pair is unique per user). */
export const findByTarget = (db: Database, userId: string, kind: SubscriptionKind, target: string) =>
  db.query.notificationSubscriptions.findFirst({
    where: and(eq(notificationSubscriptions.userId, userId), eq(notificationSubscriptions.kind, kind), eq(notificationSubscriptions.target, target)),
  });

/** Stores a new subscription; returns null when the user already has one for this target (a concurrent request won). */
export async function insertSubscription(db: Database, row: Omit<SubscriptionRow, 'createdAt'>): Promise<SubscriptionRow | null> {
  const [created] = await db.insert(notificationSubscriptions).values(row).onConflictDoNothing().returning();
  return created ?? null;
}

/** Replaces a Web Push subscription's keys (a browser re-subscribing to the same endpoint gets new keys). */
export async function updateWebPushKeys(db: Database, id: string, keys: { p256dh: string; authSecret: string }): Promise<SubscriptionRow | undefined> {
  const [row] = await db.update(notificationSubscriptions).set(keys).where(eq(notificationSubscriptions.id, id)).returning();
  return row;
}

/** The user's subscriptions, newest first. */
export const listSubscriptions = (db: Database, userId: string) =>
  db.select().from(notificationSubscriptions).where(eq(notificationSubscriptions.userId, userId)).orderBy(desc(notificationSubscriptions.createdAt), notificationSubscriptions.id);

/** One of the user's subscriptions (another user's is as good as absent). */
export const findSubscription = (db: Database, userId: string, id: string) =>
  db.query.notificationSubscriptions.findFirst({ where: and(eq(notificationSubscriptions.id, id), eq(notificationSubscriptions.userId, userId)) });

/**
 * Deletes subscriptions and their delivery rows in one batch (the history is per subscription, so nothing would
 * show it any more). `userId` restricts the delete to that user's rows; the consumer removes gone ones without it.
 */
export async function deleteSubscriptions(db: Database, ids: string[], userId?: string): Promise<number> {
  let removed = 0;
  for (let i = 0; i < ids.length; i += 90) {
    const chunk = ids.slice(i, i + 90);
    const mine = userId ? and(inArray(notificationSubscriptions.id, chunk), eq(notificationSubscriptions.userId, userId)) : inArray(notificationSubscriptions.id, chunk);
    // Runs after the first statement in the same transaction: only rows of subscriptions that are now gone go.
    const orphaned = and(inArray(deliveries.subscriptionId, chunk), sql`NOT EXISTS (SELECT 1 FROM notification_subscriptions s WHERE s.id = ${deliveries.subscriptionId})`);
    const [gone] = await db.batch([db.delete(notificationSubscriptions).where(mine).returning({ id: notificationSubscriptions.id }), db.delete(deliveries).where(orphaned)]);
    removed += gone.length;
  }
  return removed;
}

/** A subscription as the API shows it: where it points, never its secrets. */
export function subscriptionView(row: SubscriptionRow) {
  const base = { id: row.id, kind: row.kind, createdAt: new Date(row.createdAt).toISOString() };
  if (row.kind === 'webpush') return { ...base, endpoint: row.target };
  if (row.kind === 'fcm') return { ...base, fcmToken: row.target };
  return { ...base, url: row.target };
}
