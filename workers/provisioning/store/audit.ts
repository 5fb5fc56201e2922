import { sql, type SQL } from 'drizzle-orm';
import { auditLog } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

/** Who made an administrative change: `prov-admin` (the PROV-ADMIN key) and the request it came with. */
export type ProvActor = { actor: string; requestId?: string };

/** The `audit_log` insert for one provisioning change, to put in the same batch as the change; `detail` never holds a secret. */
export const provAudit = (db: Database, by: ProvActor, action: string, target: string, detail: Record<string, unknown> = {}) =>
  db.insert(auditLog).values({ actor: by.actor, action, target, detail, requestId: by.requestId ?? null });

/**
 * The same insert, made only when `condition` holds when the batch reaches it: for changes whose outcome the batch
 * itself decides (a conditional UPDATE earlier in it), so that a no-op leaves no audit row. For `atomically`.
 */
export const provAuditIf = (
  by: ProvActor,
  action: string,
  target: string,
  detail: Record<string, unknown>,
  condition: SQL,
  now = Date.now(),
): SQL =>
  sql`INSERT INTO audit_log (actor, action, target, detail, request_id, created_at)
    SELECT ${by.actor}, ${action}, ${target}, ${JSON.stringify(detail)}, ${by.requestId ?? null}, ${now} WHERE ${condition}`;
