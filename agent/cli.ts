#!/usr/bin/env node
/**
 * `gatehouse-agent <command> [options]`: the device agent. Commands are registered in commands.ts; this entry only
 * dispatches, and turns failures into one line on stderr and a distinct exit code (errors.ts).
 */
import { COMMANDS } from './commands.ts';
import { AgentError, EXIT, type ExitCode } from './errors.ts';

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: gatehouse-agent <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "gatehouse-agent <command> --help" for a command\'s options.',
  ].join('\n');
}

/** Runs one command line and returns its exit code; never throws. */
export async function runCli(argv: string[]): Promise<ExitCode> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(help());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`gatehouse-agent: unknown command "${name}"\n${help()}`);
    return EXIT.USAGE;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(`usage: ${command.usage}\n\n${command.summary}`);
    return EXIT.OK;
  }
  try {
    return await command.run(args);
  } catch (e) {
    if (e instanceof AgentError) {
      console.error(`gatehouse-agent ${name}: ${e.message}`);
      return e.code;
    }
    console.error(`gatehouse-agent ${name}: unexpected error: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.INTERNAL;
  }
}

process.exitCode = await runCli(process.argv.slice(2));
