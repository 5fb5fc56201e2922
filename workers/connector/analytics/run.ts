/**
 * Named aggregations from the configuration, run as one SQL query over `records`: count, sum, avg, min, max and
 * nearest-rank percentiles (pN = the smallest value with at least N% of the values at or below it) of a declared number
 * field, grouped by device, type and/or a time bucket, over [from, to). Uses records_type_time_idx (type, time_ms)
 * for the range and the declared field's expression index when it has `"index": true`.
 */
import { Problem } from '../../../lib/errors.ts';
import type { AnalyticDef, ConnectorConfig } from '../config.ts';
import { fieldSql } from '../where.ts';

const BUCKET_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

const bad = (path: string, message: string) => new Problem(400, 'Bad Request', { detail: `${path} ${message}.`, type: 'urn:gatehouse:problem:validation', errors: [{ path, message }] });

function instant(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) throw bad(name, 'must be an RFC 3339 time or milliseconds since the epoch');
  return ms;
}

/** One result row: the group columns, then one column per metric. */
export type AnalyticsRow = Record<string, string | number | null>;

/** Runs a named aggregation. */
export async function runAnalytic(db: D1Database, config: ConnectorConfig, name: string, range: { from?: string; to?: string }): Promise<{ name: string; columns: string[]; rows: AnalyticsRow[] }> {
  const a: AnalyticDef | undefined = config.analytics.get(name);
  if (!a) throw new Problem(404, 'Not Found', { detail: `No analytics named "${name}"; configured: ${[...config.analytics.keys()].join(', ') || 'none'}.`, type: 'urn:gatehouse:problem:not-found' });
  const from = instant('from', range.from);
  const to = instant('to', range.to);
  const where = ["r.decrypt_status <> 'failed'"];
  const binds: (string | number)[] = [];
  if (a.types) (where.push(`r.type IN (${a.types.map(() => '?').join(', ')})`), binds.push(...a.types));
  if (from !== undefined) (where.push('r.time_ms >= ?'), binds.push(from));
  if (to !== undefined) (where.push('r.time_ms < ?'), binds.push(to));
  const field = a.field ? config.fields.get(a.field) : undefined;
  const valueExpr = field ? fieldSql(field, 'r.payload') : 'NULL';
  if (field) where.push(`json_type(r.payload, '$.${field.path}') IN ('integer', 'real')`);

  const groups: { col: string; expr: string }[] = [];
  for (const g of a.groupBy) {
    if (g === 'device') groups.push({ col: 'device', expr: 'r.device_id' });
    else if (g === 'type') groups.push({ col: 'type', expr: 'r.type' });
    else groups.push({ col: 'bucket', expr: `(r.time_ms / ${BUCKET_MS[a.bucket ?? 'hour']}) * ${BUCKET_MS[a.bucket ?? 'hour']}` });
  }
  const gCols = groups.map((g) => g.col);
  const gSelect = groups.map((g) => `${g.expr} AS ${g.col}`);
  const percentiles = a.metrics.filter((m) => m.startsWith('p')).map((m) => Number(m.slice(1)));
  const simple: Record<string, string> = { count: 'COUNT(*)', sum: 'SUM(v)', avg: 'AVG(v)', min: 'MIN(v)', max: 'MAX(v)' };
  const partition = gCols.length ? `PARTITION BY ${gCols.join(', ')}` : '';
  // Nearest rank: the value at rank ceil(N/100 * n), with integer arithmetic (SQLite has no ceil without extensions).
  const metricSql = a.metrics.map((m) => (m.startsWith('p') ? `MAX(CASE WHEN rn = (n * ${Number(m.slice(1))} + 99) / 100 THEN v END) AS ${m}` : `${simple[m]} AS ${m}`));
  const ranked = percentiles.length ? `, ROW_NUMBER() OVER (${partition} ORDER BY v) AS rn, COUNT(*) OVER (${partition}) AS n` : '';
  const sql = `WITH base AS (SELECT ${[...gSelect, `${valueExpr} AS v`].join(', ')} FROM records r WHERE ${where.join(' AND ')}),
ranked AS (SELECT *${ranked} FROM base)
SELECT ${[...gCols, ...metricSql].join(', ')} FROM ranked${gCols.length ? ` GROUP BY ${gCols.join(', ')} ORDER BY ${gCols.join(', ')}` : ''}`;
  const { results } = await db.prepare(sql).bind(...binds).all<AnalyticsRow>();
  const rows = results.map((r) => (r.bucket !== undefined && r.bucket !== null ? { ...r, bucket: new Date(Number(r.bucket)).toISOString() } : r));
  // Without groups, an empty range still gives one row (count 0).
  return { name, columns: [...gCols, ...a.metrics], rows };
}

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** RFC 4180 CSV of a result. */
export const toCsv = (columns: string[], rows: AnalyticsRow[]): string => [columns.join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\r\n') + '\r\n';
