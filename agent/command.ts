import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AgentError, EXIT, type ExitCode } from './errors.ts';

/** One `gatehouse-agent` subcommand: its name, a one-line summary, its usage text, and what it does with its arguments. */
export type Command = {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<ExitCode>;
};

/** Options shared by every command. */
export const STATE_DIR_OPTION = { 'state-dir': { type: 'string' } } as const satisfies ParseArgsConfig['options'];

/** Parses a command's options strictly (unknown options and stray arguments are usage errors, exit code 2). */
export function parseOptions<const O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, usage: string) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new AgentError(EXIT.USAGE, `${e instanceof Error ? e.message : String(e)}\nusage: ${usage}`);
  }
}

/** A required string option, or a usage error naming it. */
export function required(value: string | boolean | undefined, name: string, usage: string): string {
  if (typeof value !== 'string' || value === '') throw new AgentError(EXIT.USAGE, `--${name} is required\nusage: ${usage}`);
  return value;
}
