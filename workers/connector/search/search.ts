/**
 * `GET /search`: full text (search/query.ts) with filters on metadata (type, device, kind, time range) and on declared
 * payload fields (`where`), ordered by relevance, time or a declared field, with keyset pagination. The cursor pins a
 * snapshot (the highest local seq at the first page) and the last row's sort key, so pages neither repeat nor skip
 * rows while replication keeps writing.
 */
import { z } from 'zod';
import { base64ToBytes, bytesToBase64Url, fromUtf8, sha256Hex, utf8 } from '../../../lib/encoding.ts';
import { Problem } from '../../../lib/errors.ts';
import type { ConnectorConfig } from '../config.ts';
import { conditionSql, fieldSql, parseCondition } from '../where.ts';
import { compileQuery, QuerySyntaxError } from './query.ts';
import { recordOut, RECORD_COLUMNS, type StoredRecord } from './record-out.ts';

/** The query parameters of `/search` (where may repeat). */
export type SearchParams = { q?: string; type?: string; device?: string; kind?: string; from?: string; to?: string; where: string[]; order?: string; limit?: string; cursor?: string };

const bad = (path: string, message: string) => new Problem(400, 'Bad Request', { detail: `Invalid search: ${path} ${message}.`, type: 'urn:gatehouse:problem:validation', errors: [{ path, message }] });

function instant(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms) || (!/^\d+$/.test(v) && !/^\d{4}-\d{2}-\d{2}/.test(v))) throw bad(name, 'must be an RFC 3339 time or milliseconds since the epoch');
  return ms;
}

const cursorSchema = z.object({ v: z.union([z.number(), z.string(), z.null()]), s: z.number().int(), m: z.number().int(), h: z.string() });

/** Runs a search. */
export async function search(db: D1Database, config: ConnectorConfig, p: SearchParams) {
  const where: string[] = [];
  const binds: (string | number)[] = [];
  let match: string | undefined;
  if (p.q !== undefined && p.q.trim() !== '') {
    try {
      match = compileQuery(p.q);
    } catch (e) {
      if (e instanceof QuerySyntaxError) throw bad('q', e.message);
      throw e;
    }
  }
  const limitNum = p.limit === undefined ? 50 : Number(p.limit);
  if (!Number.isInteger(limitNum) || limitNum < 1 || limitNum > 200) throw bad('limit', 'must be an integer from 1 to 200');
  for (const [name, column] of [['type', 'type'], ['device', 'device_id'], ['kind', 'kind']] as const) {
    const v = p[name];
    if (v === undefined || v === '') continue;
    const values = v.split(',');
    where.push(`r.${column} IN (${values.map(() => '?').join(', ')})`);
    binds.push(...values);
  }
  const from = instant('from', p.from);
  const to = instant('to', p.to);
  if (from !== undefined) (where.push('r.time_ms >= ?'), binds.push(from));
  if (to !== undefined) (where.push('r.time_ms < ?'), binds.push(to));
  p.where.forEach((w, i) => {
    const c = parseCondition(w, config.fields);
    if (!c.ok) throw bad(`where[${i}]`, c.error);
    const sql = conditionSql(c.condition, 'r.payload');
    where.push(sql.sql);
    binds.push(sql.value);
  });

  // Ordering: relevance (the default with q), time (the default without), or a declared field.
  const order = p.order ?? (match ? 'relevance' : 'time:desc');
  const m = /^([a-z][a-z0-9_]*)(?::(asc|desc))?$/.exec(order);
  if (!m?.[1]) throw bad('order', 'must be relevance, time:asc, time:desc or <declared field>:asc|desc');
  let key: string;
  let dir: 'asc' | 'desc' = m[2] === 'asc' ? 'asc' : 'desc';
  if (m[1] === 'relevance') {
    if (!match) throw bad('order', 'relevance needs a q to rank by');
    if (m[2]) throw bad('order', 'relevance takes no direction (best first)');
    key = 'bm25(records_fts)';
    dir = 'asc'; // bm25 is lower for better matches
  } else if (m[1] === 'time') key = 'r.time_ms';
  else {
    const f = config.fields.get(m[1]);
    if (!f) throw bad('order', `"${m[1]}" is not relevance, time or a declared field (declared: ${[...config.fields.keys()].join(', ') || 'none'})`);
    key = fieldSql(f, 'r.payload');
    where.push(`${key} IS NOT NULL`);
  }

  const hash = (await sha256Hex(JSON.stringify([p.q ?? '', p.type ?? '', p.device ?? '', p.kind ?? '', from ?? '', to ?? '', p.where, order]))).slice(0, 16);
  let snapshot: number;
  let after: z.output<typeof cursorSchema> | undefined;
  if (p.cursor) {
    try {
      after = cursorSchema.parse(JSON.parse(fromUtf8(base64ToBytes(p.cursor))));
    } catch {
      throw bad('cursor', 'is not a cursor from this search');
    }
    if (after.h !== hash) throw bad('cursor', 'belongs to a different search (change no other parameter when paging)');
    snapshot = after.m;
  } else snapshot = (await db.prepare('SELECT COALESCE(MAX(seq), 0) AS m FROM records').first<{ m: number }>())?.m ?? 0;
  where.push('r.seq <= ?');
  binds.push(snapshot);

  const from_ = match ? 'records_fts JOIN records r ON r.seq = records_fts.rowid' : 'records r';
  if (match) where.unshift('records_fts MATCH ?');
  const inner = `SELECT ${RECORD_COLUMNS.map((c) => `r.${c}`).join(', ')}, ${key} AS sort_key FROM ${from_} WHERE ${where.join(' AND ')}`;
  const cmp = dir === 'asc' ? '>' : '<';
  const outerWhere = after ? `WHERE (sort_key ${cmp} ? OR (sort_key = ? AND seq ${cmp} ?))` : '';
  const sql = `SELECT * FROM (${inner}) ${outerWhere} ORDER BY sort_key ${dir}, seq ${dir} LIMIT ?`;
  const all = [...(match ? [match] : []), ...binds, ...(after ? [after.v ?? 0, after.v ?? 0, after.s] : []), limitNum + 1];
  const { results } = await db.prepare(sql).bind(...all).all<StoredRecord & { sort_key: number | string | null }>();
  const page = results.slice(0, limitNum);
  const last = page.at(-1);
  const next = results.length > limitNum && last ? bytesToBase64Url(utf8(JSON.stringify({ v: last.sort_key, s: last.seq, m: snapshot, h: hash }))) : null;
  return { results: page.map((r) => ({ ...recordOut(r), ...(m[1] === 'relevance' ? { score: -Number(r.sort_key) } : {}) })), next, order };
}
