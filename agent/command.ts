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
    return parseArgs({ args: joinStringValues(args, options), options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new AgentError(EXIT.USAGE, `${e instanceof Error ? e.message : String(e)}\nusage: ${usage}`);
  }
}

/**
 * Joins `--name value` into `--name=value` for string options, so that a value starting with a dash (an OTP or a
 * base64url secret can) is taken as the value, as the user meant, rather than refused as an ambiguous option. A
 * following word that is one of the command's own options is left alone, so a forgotten value is still reported.
 */
function joinStringValues(args: string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined;
    const nextIsOption = next !== undefined && next.startsWith('--') && next.slice(2).split('=')[0]! in options;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && next.startsWith('-') && !nextIsOption) {
      joined.push(`${arg}=${next}`);
      i++;
    } else joined.push(arg);
  }
  return joined;
}

/** A required string option, or a usage error naming it. */
export function required(value: string | boolean | undefined, name: string, usage: string): string {
  if (typeof value !== 'string' || value === '') throw new AgentError(EXIT.USAGE, `--${name} is required\nusage: ${usage}`);
  return value;
}
