import { is, SQL } from 'drizzle-orm';
import { SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core';
import type { Database } from '../../db.ts';

const dialect = new SQLiteAsyncDialect();

/** A statement for `atomically`: a drizzle query builder, or a raw `sql` template whose values are bound, never inlined. */
export type BatchStatement = SQL | { toSQL(): { sql: string; params: unknown[] } };

/** A row as D1 returns it: column names as in the SQL. */
export type RawRow = Record<string, unknown>;

/**
 * Runs statements as one D1 batch, which D1 executes as a single transaction, and returns each one's rows. It exists
 * beside drizzle's `db.batch` because that cannot batch raw `sql` with bound values, and the conditional
 * `INSERT … SELECT … WHERE EXISTS` statements that make enrolment and revocation atomic are clearest written out.
 */
export async function atomically(db: Database, statements: readonly BatchStatement[]): Promise<RawRow[][]> {
  const prepared = statements.map((s) => {
    const query = is(s, SQL) ? dialect.sqlToQuery(s) : s.toSQL();
    return db.$client.prepare(query.sql).bind(...query.params);
  });
  const results = await db.$client.batch<RawRow>(prepared);
  return results.map((r) => r.results);
}
