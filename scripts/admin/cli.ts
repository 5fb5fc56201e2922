/**
 * What every admin command shares: the command shape, option readers, the one error type with its exit code, and output
 * (human tables on stdout by default, one JSON document with --json, progress on stderr so JSON stays parseable).
 */
import type { ParseArgsOptionsConfig } from 'node:util';
import { Problem } from '../../lib/errors.ts';
import type { AdminContext } from './context.ts';

/** Exit codes: 1 runtime failure or partial failure, 2 bad usage or input, 3 not found, 4 conflict. */
export const EXIT = { failure: 1, usage: 2, notFound: 3, conflict: 4 } as const;

/** An error for the operator: printed as one line, exiting with `code`. */
export class CliError extends Error {
  override name = 'CliError';
  readonly code: number;
  constructor(message: string, code: number = EXIT.usage) {
    super(message);
    this.code = code;
  }
}

/** Parsed option values as `node:util` parseArgs returns them. */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** One `admin <group> <command>`: its options, positional arguments and what it does. */
export type Command = {
  summary: string;
  usage: string;
  options?: ParseArgsOptionsConfig;
  args?: readonly string[];
  run: (ctx: AdminContext, values: OptionValues, args: string[]) => Promise<void>;
};

/** A string option, or undefined. */
export function str(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A boolean flag (false when absent). */
export const flag = (values: OptionValues, name: string): boolean => values[name] === true;

/** A repeatable string option, as a list. */
export function many(values: OptionValues, name: string): string[] {
  const value = values[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

/** A comma- or space-separated list option; undefined when absent, [] when given empty. */
export function list(values: OptionValues, name: string): string[] | undefined {
  const value = str(values, name);
  return value === undefined ? undefined : value.split(/[\s,]+/).filter((v) => v !== '');
}

/** A whole-number option (seconds, counts), or undefined. */
export function int(values: OptionValues, name: string): number | undefined {
  const value = str(values, name);
  if (value === undefined) return undefined;
  if (!/^\d{1,12}$/.test(value)) throw new CliError(`--${name} must be a whole number, not "${value}"`);
  return Number(value);
}

/** The message to show for any error, on one line; drizzle's "Failed query: … params: …" is replaced by its cause, since params can hold hashes and ciphertext. */
export function describeError(err: unknown): { message: string; code: number } {
  if (err instanceof CliError) return { message: err.message, code: err.code };
  if (err instanceof Problem) {
    const code = err.status === 404 ? EXIT.notFound : err.status === 409 ? EXIT.conflict : err.status < 500 ? EXIT.usage : EXIT.failure;
    return { message: err.message, code };
  }
  const root = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  let message = root instanceof Error ? root.message : String(root);
  if (/no such table/i.test(message)) message += ' (is the database migrated? run `npm run setup`, or `wrangler d1 migrations apply DB --remote`)';
  return { message: `database: ${message}`.replace(/\s*\n\s*/g, ' '), code: EXIT.failure };
}

/** Pads columns so a list reads as a table; an empty list prints a dash line instead. */
export function table(rows: Record<string, string>[], columns: readonly string[]): string[] {
  if (rows.length === 0) return ['(none)'];
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => r[c] ?? '')))];
}

/** `key: value` lines with aligned values. */
export function fields(entries: [string, string][]): string[] {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`);
}

/** Milliseconds since the epoch as an ISO time without milliseconds; '-' for none. */
export const time = (ms: number | null | undefined): string => (ms ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');

/** Where a command's output goes. */
export type Output = {
  /** Prints the result: `json` as one JSON document with --json, else the human lines. */
  result: (json: unknown, human: () => string[]) => void;
  /** A progress or notice line on stderr. */
  progress: (line: string) => void;
};

/** Output to the process's stdout and stderr. */
export function consoleOutput(json: boolean): Output {
  return {
    result: (value, human) => {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human().join('\n')}\n`);
    },
    progress: (line) => {
      process.stderr.write(`${line}\n`);
    },
  };
}
