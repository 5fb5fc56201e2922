import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import { bytesToBase64Url, fromUtf8 } from '../../lib/encoding.ts';
import { fromBase64Url } from '../../lib/webpush/keys.ts';
import { deliveries, deviceOrgs, devices, DEVICE_ROLES, deviceUsers, notificationSubscriptions, orgMembers, users } from '../../schema/index.ts';
import type { Database } from '../db.ts';
import { STATUS_OF, type Outcome } from './outcome.ts';
import type { SubscriptionRow } from './subscription-store.ts';

/**
 * D1 access for `deliveries`: whom a message goes to, what each attempt came to, the dead-letter mark, and the
 * caller's history. Writes are multi-row upserts on `(message_id, subscription_id)`, chunked under D1's limit of 100
 * bound parameters per statement and sent as one batch.
 */

/** A subscription a message goes to, with what is already recorded for that message. */
export type Target = { sub: SubscriptionRow; status: string | null };

// Every role counts: viewer is the lowest, and "at least viewer" is any role (listed so a new lower role opts in).
const VIEWER_OR_ABOVE = [...DEVICE_ROLES];
const ROWS_PER_STATEMENT = 11; // 9 columns: 99 parameters

/**
 * The device's name and every subscription of its enabled users with at least `viewer`, with the message's prior
 * status. Users are those the device is shared with and the members of its organisation (every organisation role maps
 * to at least `viewer` on its devices, workers/orgs/roles.ts); a user who is both gets each subscription once.
 */
export async function loadTargets(db: Database, messageId: string, deviceId: string): Promise<{ deviceName: string | null; targets: Target[] }> {
  const recipients = sql`(SELECT ${deviceUsers.userId} FROM ${deviceUsers} WHERE ${deviceUsers.deviceId} = ${deviceId} AND ${inArray(deviceUsers.role, VIEWER_OR_ABOVE)}
    UNION SELECT ${orgMembers.userId} FROM ${orgMembers} JOIN ${deviceOrgs} ON ${deviceOrgs.orgId} = ${orgMembers.orgId} WHERE ${deviceOrgs.deviceId} = ${deviceId})`;
  const [device, rows] = await db.batch([
    db.select({ name: devices.name }).from(devices).where(eq(devices.id, deviceId)),
    db
      .select({ sub: notificationSubscriptions, status: deliveries.status })
      .from(notificationSubscriptions)
      .innerJoin(users, and(eq(users.id, notificationSubscriptions.userId), eq(users.enabled, true)))
      .leftJoin(deliveries, and(eq(deliveries.messageId, messageId), eq(deliveries.subscriptionId, notificationSubscriptions.id)))
      .where(sql`${notificationSubscriptions.userId} IN ${recipients}`),
  ]);
  return { deviceName: device[0]?.name ?? null, targets: rows };
}

type Row = typeof deliveries.$inferInsert;

async function upsert(db: Database, rows: Row[], set: Parameters<ReturnType<ReturnType<Database['insert']>['values']>['onConflictDoUpdate']>[0]['set']) {
  const statements = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    statements.push(
      db
        .insert(deliveries)
        .values(rows.slice(i, i + ROWS_PER_STATEMENT))
        .onConflictDoUpdate({
          target: [deliveries.messageId, deliveries.subscriptionId],
          set,
          // A delivery once delivered or gone stays so, even if a duplicate run of the message failed meanwhile.
          setWhere: sql`${deliveries.status} NOT IN ('delivered', 'gone')`,
        }),
    );
  }
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}

/** Records one attempt per subscription: status, attempts + 1, the last error (or none) and the latency. */
export async function recordOutcomes(db: Database, messageId: string, results: { subscriptionId: string; outcome: Outcome }[], now: number): Promise<void> {
  const rows = results.map(({ subscriptionId, outcome }) => ({
    id: crypto.randomUUID(),
    messageId,
    subscriptionId,
    status: STATUS_OF[outcome.kind],
    attempts: 1,
    lastError: outcome.kind === 'delivered' ? null : outcome.error.slice(0, 200),
    latencyMs: Math.round(outcome.latencyMs),
    createdAt: now,
    updatedAt: now,
  }));
  await upsert(db, rows, {
    status: sql`excluded.status`,
    attempts: sql`${deliveries.attempts} + 1`,
    lastError: sql`excluded.last_error`,
    latencyMs: sql`excluded.latency_ms`,
    updatedAt: sql`excluded.updated_at`,
  });
}

/**
 * Marks the message's undelivered deliveries `dead` (the dead-letter consumer): rows still pending or retrying, and a
 * row for any current target never attempted. Delivered, gone and failed rows keep their status.
 */
export async function markDead(db: Database, messageId: string, deviceId: string, now: number): Promise<number> {
  const { targets } = await loadTargets(db, messageId, deviceId);
  const open = targets.filter((t) => t.status === null || t.status === 'pending' || t.status === 'retrying');
  const rows = open.map((t) => ({
    id: crypto.randomUUID(),
    messageId,
    subscriptionId: t.sub.id,
    status: 'dead' as const,
    attempts: 0,
    lastError: 'retries exhausted (dead-lettered)',
    latencyMs: null,
    createdAt: now,
    updatedAt: now,
  }));
  await upsert(db, rows, {
    status: sql`CASE WHEN ${deliveries.status} IN ('pending', 'retrying') THEN 'dead' ELSE ${deliveries.status} END`,
    lastError: sql`CASE WHEN ${deliveries.status} IN ('pending', 'retrying') THEN coalesce(${deliveries.lastError}, excluded.last_error) || ' (dead-lettered)' ELSE ${deliveries.lastError} END`,
    updatedAt: sql`excluded.updated_at`,
  });
  return rows.length;
}

const encodeCursor = (createdAt: number, id: string) => bytesToBase64Url(new TextEncoder().encode(`${createdAt}:${id}`));
function decodeCursor(cursor: string): { createdAt: number; id: string } | null {
  try {
    const m = /^(\d{1,16}):([0-9a-f-]{36})$/.exec(fromUtf8(fromBase64Url(cursor)));
    return m?.[1] && m[2] ? { createdAt: Number(m[1]), id: m[2] } : null;
  } catch {
    return null;
  }
}

/** One page of the user's delivery history, newest first; `next` continues it. Null when the cursor is not ours. */
export async function listDeliveries(db: Database, userId: string, q: { limit: number; after?: string | undefined; subscriptionId?: string | undefined }) {
  const cursor = q.after === undefined ? undefined : decodeCursor(q.after);
  if (cursor === null) return null;
  const rows = await db
    .select({ d: deliveries, kind: notificationSubscriptions.kind })
    .from(deliveries)
    .innerJoin(notificationSubscriptions, eq(notificationSubscriptions.id, deliveries.subscriptionId))
    .where(
      and(
        eq(notificationSubscriptions.userId, userId),
        q.subscriptionId ? eq(deliveries.subscriptionId, q.subscriptionId) : undefined,
        cursor ? or(lt(deliveries.createdAt, cursor.createdAt), and(eq(deliveries.createdAt, cursor.createdAt), lt(deliveries.id, cursor.id))) : undefined,
      ),
    )
    .orderBy(desc(deliveries.createdAt), desc(deliveries.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    deliveries: page.map(({ d, kind }) => ({
      id: d.id,
      messageId: d.messageId,
      subscriptionId: d.subscriptionId,
      kind,
      status: d.status,
      attempts: d.attempts,
      lastError: d.lastError,
      latencyMs: d.latencyMs,
      createdAt: new Date(d.createdAt).toISOString(),
      updatedAt: d.updatedAt === null ? null : new Date(d.updatedAt).toISOString(),
    })),
    next: rows.length > q.limit && last ? encodeCursor(last.d.createdAt, last.d.id) : null,
  };
}
