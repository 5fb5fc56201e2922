/**
 * Expression indexes on the declared fields with `"index": true`: `json_extract(payload, '$.<path>')`, the exact
 * expression where.ts and the analytics use, so SQLite uses them. They follow the configuration, which is why they are
 * created here (idempotently, once per isolate and configuration) rather than in a migration.
 */
import type { ConnectorConfig } from './config.ts';
import { fieldSql } from './where.ts';

const done = new WeakSet<ConnectorConfig>();

/** Creates the declared fields' indexes that do not exist yet. */
export async function ensureFieldIndexes(db: D1Database, config: ConnectorConfig): Promise<void> {
  if (done.has(config)) return;
  const wanted = [...config.fields.values()].filter((f) => f.index);
  if (wanted.length) await db.batch(wanted.map((f) => db.prepare(`CREATE INDEX IF NOT EXISTS records_field_${f.name}_idx ON records (${fieldSql(f)})`)));
  done.add(config);
}
