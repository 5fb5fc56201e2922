// A D1 database service for running a production bundle on bare workerd in benchmarks. It speaks the protocol of
// workerd's `cloudflare-internal:d1-api` binding (HTTP `POST /query|/execute`, and the `query` RPC method), and keeps the
// database in a SQLite-backed Durable Object with the same unique key and name as Miniflare/wrangler use, so it opens
// the very file that `wrangler d1 migrations apply --local` and the seeding code wrote.
import { DurableObject, WorkerEntrypoint } from 'cloudflare:workers';

const toParam = (p) => (Array.isArray(p) ? new Uint8Array(p).buffer : p);
const fromValue = (v) => (v instanceof ArrayBuffer ? [...new Uint8Array(v)] : v);

export class D1Database extends DurableObject {
  run(queries) {
    const sql = this.ctx.storage.sql;
    const counters = () => sql.exec('SELECT total_changes() AS c, last_insert_rowid() AS r').one();
    try {
      return { ok: true, results: this.ctx.storage.transactionSync(() => queries.filter((q) => q.sql.trim()).map((q) => {
        const before = counters();
        const t0 = performance.now();
        const cursor = sql.exec(q.sql, ...(q.params ?? []).map(toParam));
        const columns = cursor.columnNames;
        const rows = [...cursor.raw()].map((row) => row.map(fromValue));
        const after = counters();
        const changes = after.c - before.c;
        const duration = performance.now() - t0;
        return {
          columns,
          rows,
          meta: {
            served_by: 'bench.d1', served_by_primary: true, total_attempts: 1, timings: { sql_duration_ms: duration }, duration,
            changes, last_row_id: after.r, changed_db: changes > 0, size_after: sql.databaseSize,
            rows_read: cursor.rowsRead, rows_written: cursor.rowsWritten,
          },
        };
      })) };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
}

export default class D1Entry extends WorkerEntrypoint {
  stub() {
    const ns = this.env.DB_OBJECT;
    return ns.get(ns.idFromName(this.env.DATABASE_ID));
  }
  async fetch(request) {
    const body = await request.json();
    const queries = Array.isArray(body) ? body : [body];
    const format = new URL(request.url).searchParams.get('resultsFormat') ?? 'ARRAY_OF_OBJECTS';
    const out = await this.stub().run(queries);
    if (!out.ok) return Response.json({ success: false, error: out.error }, { status: 500 });
    return Response.json(out.results.map(({ columns, rows, meta }) => ({
      success: true,
      meta,
      results: format === 'ROWS_AND_COLUMNS' ? { columns, rows } : format === 'NONE' ? [] : rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))),
    })), { headers: { 'x-cf-d1-session-commit-token': 'bench' } });
  }
  async query(request) {
    const out = await this.stub().run(request.queries);
    if (!out.ok) {
      const error = new Error(out.error);
      error.name = 'D1_ERROR';
      throw error;
    }
    return { results: out.results.map(({ columns, rows, meta }) => ({ meta, data: { kind: 'raw', columns, rows } })), bookmark: 'bench' };
  }
}
