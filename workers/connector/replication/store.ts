/**
 * D1 writes of replication: one page of rows, the rule runs they trigger and the new cursor in ONE batch (a D1 batch
 * is a transaction), so a crash leaves either all of it or none; rows are idempotent on record id.
 */
import { sha256Hex } from '../../../lib/encoding.ts';
import type { RuleDef } from '../config.ts';
import { matches } from '../where.ts';
import type { RecordRow } from './row.ts';

const COLUMNS = ['id', 'kind', 'device_id', 'user_id', 'type', 'time', 'time_ms', 'received_at', 'size', 'enc_kid', 'payload', 'body', 'decrypt_status', 'decrypt_error', 'ciphertext', 'signature', 'sig_kid', 'sig_status', 'sig_detail'] as const;
const INSERT_ROW = `INSERT INTO records (${COLUMNS.join(', ')}, replicated_at) VALUES (${COLUMNS.map(() => '?').join(', ')}, ?) ON CONFLICT (id) DO NOTHING RETURNING seq`;

/** The id of the record a rule appends for a source record: the same on every attempt and re-sync. */
export async function ruleOutputId(rule: string, recordId: string): Promise<string> {
  return `rule.${rule}.${(await sha256Hex(recordId)).slice(0, 40)}`;
}

/** True when a rule matches a stored row (decrypted, of its type, satisfying every condition, not its own output). */
export function ruleMatches(rule: RuleDef, row: Pick<RecordRow, 'id' | 'type' | 'payload' | 'decrypt_status'>): boolean {
  if (row.decrypt_status === 'failed' || row.payload === null || row.type !== rule.when.type) return false;
  if (row.id.startsWith(`rule.${rule.name}.`)) return false;
  const payload: unknown = JSON.parse(row.payload);
  return rule.conditions.every((c) => matches(payload, c));
}

/** Statements creating the pending rule runs of the rows (ignored when the run exists: exactly once). */
export async function ruleRunStatements(db: D1Database, rules: readonly RuleDef[], rows: readonly RecordRow[], now: number): Promise<D1PreparedStatement[]> {
  const out: D1PreparedStatement[] = [];
  for (const row of rows) {
    for (const rule of rules) {
      if (!ruleMatches(rule, row)) continue;
      out.push(
        db
          .prepare('INSERT OR IGNORE INTO rule_runs (rule, record_id, action, status, output_id, output_time, created_at, updated_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .bind(rule.name, row.id, rule.action.kind, 'pending', await ruleOutputId(rule.name, row.id), new Date(now).toISOString(), now, now, now),
      );
    }
  }
  return out;
}

/** Writes a page: rows, their rule runs and the cursor after them, atomically. Returns how many rows were new. */
export async function writePage(db: D1Database, rules: readonly RuleDef[], rows: readonly RecordRow[], cursor: string, now = Date.now()): Promise<number> {
  const inserts = rows.map((r) => db.prepare(INSERT_ROW).bind(...COLUMNS.map((c) => r[c]), now));
  const runs = await ruleRunStatements(db, rules, rows, now);
  const last = rows.at(-1);
  const state = db
    .prepare('UPDATE replication_state SET cursor = ?, pages = pages + 1, last_received_at = COALESCE(?, last_received_at), last_sync_at = ?, last_error = NULL WHERE id = 1')
    .bind(cursor, last?.received_at ?? null, now);
  const results = await db.batch([...inserts, ...runs, state]);
  // RETURNING yields a row only for a new record (meta.changes would also count the FTS trigger's writes).
  return results.slice(0, inserts.length).reduce((n, r) => n + r.results.length, 0);
}

/** The stored replication state. */
export type ReplicationState = {
  cursor: string | null;
  pages: number;
  last_received_at: string | null;
  last_sync_at: number | null;
  caught_up_at: number | null;
  last_error: string | null;
  last_error_at: number | null;
  key_kids: string | null;
};

/** Reads the replication state row. */
export async function readState(db: D1Database): Promise<ReplicationState> {
  const row = await db.prepare('SELECT cursor, pages, last_received_at, last_sync_at, caught_up_at, last_error, last_error_at, key_kids FROM replication_state WHERE id = 1').first<ReplicationState>();
  if (!row) throw new Error('replication_state has no row: apply the connector migrations');
  return row;
}

/** Records an error (the message is ours or the platform's status line, never a secret). */
export async function recordError(db: D1Database, message: string, now = Date.now()): Promise<void> {
  await db.prepare('UPDATE replication_state SET last_error = ?, last_error_at = ? WHERE id = 1').bind(message.slice(0, 1000), now).run();
}

/** Marks the connector caught up with the platform's log. */
export async function markCaughtUp(db: D1Database, now = Date.now()): Promise<void> {
  await db.prepare('UPDATE replication_state SET caught_up_at = ?, last_sync_at = ? WHERE id = 1').bind(now, now).run();
}

/** Backfill: forgets every replicated row and the cursor (rule history stays, so no rule fires twice). */
export async function resetReplication(db: D1Database): Promise<void> {
  await db.batch([
    db.prepare('DELETE FROM records'),
    db.prepare("INSERT INTO records_fts (records_fts) VALUES ('rebuild')"),
    db.prepare('UPDATE replication_state SET cursor = NULL, pages = 0, last_received_at = NULL, caught_up_at = NULL, last_error = NULL, last_error_at = NULL WHERE id = 1'),
  ]);
}

/** Counts for the status page. */
export async function counts(db: D1Database): Promise<{ records: number; decrypted: number; plain: number; undecryptable: number; signed: number; badSignatures: number; rulesPending: number; rulesDone: number; rulesFailed: number }> {
  const [r, s] = await db.batch<Record<string, number>>([
    db.prepare(
      "SELECT COUNT(*) AS records, COALESCE(SUM(decrypt_status = 'ok'), 0) AS decrypted, COALESCE(SUM(decrypt_status = 'plain'), 0) AS plain, COALESCE(SUM(decrypt_status = 'failed'), 0) AS undecryptable, COALESCE(SUM(sig_status <> 'none'), 0) AS signed, COALESCE(SUM(sig_status IN ('invalid', 'unknown_kid')), 0) AS badSignatures FROM records",
    ),
    db.prepare("SELECT COALESCE(SUM(status = 'pending'), 0) AS rulesPending, COALESCE(SUM(status = 'done'), 0) AS rulesDone, COALESCE(SUM(status = 'failed'), 0) AS rulesFailed FROM rule_runs"),
  ]);
  const a = r?.results[0] ?? {};
  const b = s?.results[0] ?? {};
  return {
    records: a.records ?? 0,
    decrypted: a.decrypted ?? 0,
    plain: a.plain ?? 0,
    undecryptable: a.undecryptable ?? 0,
    signed: a.signed ?? 0,
    badSignatures: a.badSignatures ?? 0,
    rulesPending: b.rulesPending ?? 0,
    rulesDone: b.rulesDone ?? 0,
    rulesFailed: b.rulesFailed ?? 0,
  };
}
