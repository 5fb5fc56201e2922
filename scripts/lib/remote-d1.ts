/**
 * A `D1Database` over `wrangler d1 execute DB --json --command <SQL>`, so operator scripts can reach the deployed database
 * (`--remote`) with nothing but wrangler's own login. It implements what drizzle's `drizzle-orm/d1` driver uses: `prepare`,
 * `bind`, `first`, `all`, `raw`, `run` and `batch` (plus `exec`). wrangler takes no bound parameters, so every parameter is
 * inlined as an SQLite literal; a batch is one `--command` with its statements joined by `;`, which D1 runs as one transaction.
 * The same adapter runs against local state (`--local --persist-to DIR`), which is how it is tested without an account.
 *
 * Limits, compared with the real binding: result rows arrive as JSON objects, so two result columns with the same name
 * collapse into one (alias them); `raw({ columnNames: true })` on an empty result has no column names; BLOB results come back as
 * wrangler prints them; and local wrangler reports no `changes`/`last_row_id` in `meta` (use RETURNING instead).
 */
import { spawn } from 'node:child_process';
import { bytesToHex, utf8 } from '../../lib/encoding.ts';
import { wranglerBin } from './wrangler.ts';

/** Where the adapter's SQL goes: the deployed database, or wrangler's local state under `persistTo`. */
export type WranglerD1Target = { remote: true; env?: string } | { remote: false; persistTo: string };

/** Options of `createWranglerD1`; `exec` replaces the wrangler call (it receives the arguments and returns stdout). */
export type WranglerD1Options = {
  configPath: string;
  target: WranglerD1Target;
  database?: string;
  cwd?: string;
  exec?: (args: string[]) => Promise<WranglerRun>;
};

/** What one wrangler run printed and how it ended. */
export type WranglerRun = { code: number | null; stdout: string; stderr: string };

/** Linux refuses one argv string above 128 KiB (MAX_ARG_STRLEN); callers batch below this. */
export const MAX_COMMAND_BYTES = 120_000;

/** A failure reported by D1 (or by wrangler on its way there); the message never contains the SQL or its parameters. */
export class WranglerD1Error extends Error {
  override name = 'WranglerD1Error';
}

/** Renders one bound value as an SQLite literal, with the types D1 accepts: null, number, bigint, boolean, string, bytes. */
export function sqlLiteral(value: unknown): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`D1 cannot bind the number ${value}`);
    const text = String(value);
    // Parentheses keep `x-?` from turning into an `x--1` comment.
    return value < 0 ? `(${text})` : text;
  }
  if (typeof value === 'bigint') return value < 0n ? `(${value})` : String(value);
  if (typeof value === 'string') {
    // NUL cannot travel in a command-line argument, so such strings go as hex and are cast back to text.
    if (value.includes('\0')) return `CAST(X'${bytesToHex(utf8(value))}' AS TEXT)`;
    return `'${value.replaceAll("'", "''")}'`;
  }
  if (value instanceof ArrayBuffer) return `X'${bytesToHex(new Uint8Array(value))}'`;
  if (ArrayBuffer.isView(value)) return `X'${bytesToHex(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))}'`;
  throw new TypeError(`D1 cannot bind a value of type ${value === undefined ? 'undefined' : typeof value}`);
}

/** Replaces each `?` / `?NNN` placeholder outside literals, quoted identifiers and comments with its parameter's literal. */
export function inlineParams(sql: string, params: readonly unknown[]): string {
  let out = '';
  let next = 1;
  const used = new Set<number>();
  let i = 0;
  const copyUntil = (end: number) => {
    out += sql.slice(i, end);
    i = end;
  };
  while (i < sql.length) {
    const ch = sql[i];
    const closer = ch === "'" ? "'" : ch === '"' ? '"' : ch === '`' ? '`' : ch === '[' ? ']' : undefined;
    if (closer) {
      let end = i + 1;
      for (;;) {
        const found = sql.indexOf(closer, end);
        if (found === -1) throw new SyntaxError('unterminated quoted text in SQL');
        end = found + 1;
        // A doubled quote is an escaped quote, except for [brackets].
        if (closer !== ']' && sql[end] === closer) end += 1;
        else break;
      }
      copyUntil(end);
    } else if (ch === '-' && sql[i + 1] === '-') {
      const newline = sql.indexOf('\n', i);
      copyUntil(newline === -1 ? sql.length : newline);
    } else if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      copyUntil(end === -1 ? sql.length : end + 2);
    } else if (ch === '?') {
      const digits = /^\d*/.exec(sql.slice(i + 1))?.[0] ?? '';
      const index = digits === '' ? next : Number(digits);
      if (index < 1 || index > params.length) throw new RangeError(`SQL uses parameter ${index} but ${params.length} were bound`);
      out += sqlLiteral(params[index - 1]);
      used.add(index);
      next = Math.max(next, index + 1);
      i += 1 + digits.length;
    } else if ((ch === ':' || ch === '@' || ch === '$') && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      throw new SyntaxError('named SQL parameters are not supported (D1 binds by position)');
    } else {
      copyUntil(i + 1);
    }
  }
  if (used.size !== params.length) throw new RangeError(`${params.length} parameters were bound but the SQL uses ${used.size}`);
  return out;
}

/** Runs wrangler with the project's pinned Node, keeping stdout (the JSON) apart from stderr (logs). */
function runWranglerRaw(args: string[], cwd: string | undefined): Promise<WranglerRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wranglerBin(), ...args], {
      cwd,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** One statement's output in wrangler's `--json` array. */
type WranglerResult = { results?: Record<string, unknown>[]; success?: boolean; meta?: Record<string, unknown> };

/** Parses wrangler's JSON; an `{ error: { text } }` document (or no JSON at all) becomes a `WranglerD1Error`. */
function parseOutput(run: WranglerRun): WranglerResult[] {
  const text = run.stdout.trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(Math.max(0, text.search(/^[[{]/m))));
  } catch {
    const tail = `${run.stderr}\n${run.stdout}`.trim().split('\n').slice(-3).join(' ').slice(0, 500);
    throw new WranglerD1Error(`wrangler d1 execute failed (exit ${run.code}): ${tail || 'no output'}`);
  }
  if (Array.isArray(parsed) && run.code === 0) return parsed as WranglerResult[];
  const error = (parsed as { error?: { text?: unknown } } | null)?.error?.text;
  throw new WranglerD1Error(`D1_ERROR: ${typeof error === 'string' ? error : `wrangler exited with ${run.code}`}`);
}

const num = (value: unknown): number => (typeof value === 'number' ? value : 0);

/** wrangler's result in the binding's `D1Result` shape; counters wrangler does not report are 0. */
function toD1Result(result: WranglerResult): D1Result<Record<string, unknown>> {
  const meta = result.meta ?? {};
  return {
    success: true,
    results: result.results ?? [],
    meta: {
      ...meta,
      duration: num(meta.duration),
      size_after: num(meta.size_after),
      rows_read: num(meta.rows_read),
      rows_written: num(meta.rows_written),
      last_row_id: num(meta.last_row_id),
      changed_db: meta.changed_db === true,
      changes: num(meta.changes),
    },
  };
}

type Statement = { readonly sql: string; readonly params: readonly unknown[] };
const STATEMENT = Symbol('statement');

/** Creates the adapter; nothing runs until a statement is executed, and each execution is one wrangler process. */
export function createWranglerD1(opts: WranglerD1Options): D1Database {
  const baseArgs = [
    'd1', 'execute', opts.database ?? 'DB', '--json', '--yes', '-c', opts.configPath,
    ...(opts.target.remote ? ['--remote', ...(opts.target.env ? ['--env', opts.target.env] : [])] : ['--local', '--persist-to', opts.target.persistTo]),
  ];
  const exec = opts.exec ?? ((args: string[]) => runWranglerRaw(args, opts.cwd));

  async function execute(statements: readonly Statement[]): Promise<D1Result<Record<string, unknown>>[]> {
    if (statements.length === 0) return [];
    const command = statements.map((s) => inlineParams(s.sql, s.params).trim().replace(/;\s*$/, '')).join(';\n');
    if (utf8(command).length > MAX_COMMAND_BYTES) {
      throw new WranglerD1Error(`SQL too large for one wrangler command (over ${MAX_COMMAND_BYTES} bytes): use smaller batches`);
    }
    const results = parseOutput(await exec([...baseArgs, '--command', command]));
    if (results.length !== statements.length) {
      throw new WranglerD1Error(`wrangler returned ${results.length} results for ${statements.length} statements`);
    }
    return results.map(toD1Result);
  }

  const statement = (s: Statement): D1PreparedStatement => {
    const one = async () => {
      const [result] = await execute([s]);
      if (!result) throw new WranglerD1Error('wrangler returned no result');
      return result;
    };
    async function first(column?: string): Promise<unknown> {
      const row = (await one()).results[0];
      if (row === undefined) return null;
      if (column === undefined) return row;
      if (!(column in row)) throw new WranglerD1Error(`D1_COLUMN_NOTFOUND: ${column}`);
      return row[column];
    }
    async function raw(options?: { columnNames?: boolean }): Promise<unknown[]> {
      const rows = (await one()).results;
      const values = rows.map((row) => Object.values(row));
      return options?.columnNames ? [Object.keys(rows[0] ?? {}), ...values] : values;
    }
    return {
      [STATEMENT]: s,
      bind: (...values: unknown[]) => statement({ sql: s.sql, params: values }),
      first: first as D1PreparedStatement['first'],
      all: one as D1PreparedStatement['all'],
      run: one as D1PreparedStatement['run'],
      raw: raw as D1PreparedStatement['raw'],
    } as D1PreparedStatement;
  };

  const prepare = (sql: string) => statement({ sql, params: [] });
  const batch = (async (statements: D1PreparedStatement[]) => execute(statements.map(unwrap))) as D1Database['batch'];
  return {
    prepare,
    batch,
    exec: async (sql: string) => {
      const started = Date.now();
      const run = parseOutput(await exec([...baseArgs, '--command', sql]));
      return { count: run.length, duration: Date.now() - started };
    },
    // Every call is sequential against the primary, so a session needs no bookmark.
    withSession: () => ({ prepare, batch, getBookmark: () => null }),
    dump: () => Promise.reject(new WranglerD1Error('dump() is not supported over wrangler')),
  };
}

/** The SQL and parameters behind a statement this adapter made; anything else cannot join its batch. */
function unwrap(stmt: D1PreparedStatement): Statement {
  const inner = (stmt as unknown as { [STATEMENT]?: Statement })[STATEMENT];
  if (!inner) throw new TypeError('batch() takes only statements prepared by the same wrangler D1 adapter');
  return inner;
}
