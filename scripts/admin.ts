/**
 * `npm run admin -- <group> <command> [options]`: the operator CLI for app clients, users, Hasura claims and the Moped
 * import, against the local D1 (default) or the deployed database (`--remote`, through wrangler). `npm run admin -- help`
 * lists every command; README.md ("Operator CLI") explains local vs remote, the import and key rotation.
 */
import path from 'node:path';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { claimsCommands } from './admin/claims.ts';
import { CliError, describeError, EXIT, type Command, type OptionValues } from './admin/cli.ts';
import { clientCommands } from './admin/client.ts';
import { GLOBAL_OPTIONS, openContext } from './admin/context.ts';
import { importCommands } from './admin/import.ts';
import { userCommands } from './admin/user.ts';

const root = path.resolve(import.meta.dirname, '..');
const GROUPS: Record<string, Record<string, Command>> = { client: clientCommands, user: userCommands, claims: claimsCommands, import: importCommands };

const TARGET_HELP = [
  'Target (default --local):',
  '  --local [--persist-to DIR] [--dev-vars PATH]   the local D1 of `npm run dev` (.wrangler/state) and secrets from .dev.vars',
  '  --remote [--env NAME] [--dev-vars PATH | --env-file PATH]',
  '                                                 the deployed D1 through `wrangler d1 execute --remote` (needs `wrangler login`);',
  '                                                 CLAIMS_FERNET_KEYS from the file given or the environment, never from .dev.vars',
  '  --config PATH   wrangler config (default wrangler.toml)   --json   machine-readable output   --yes   confirm deletes on --remote',
  'Exit codes: 0 ok, 1 failure (or some rows/items failed), 2 bad usage or input, 3 not found, 4 conflict.',
];

function help(): string {
  const lines = ['usage: npm run admin -- <group> <command> [options]', ''];
  for (const commands of Object.values(GROUPS)) {
    for (const command of Object.values(commands)) lines.push(`  ${command.usage}`, `      ${command.summary}`);
    lines.push('');
  }
  return [...lines, ...TARGET_HELP].join('\n');
}

/** Every option any command knows, so the first pass can tell option values from the group and command names. */
function allOptions(): ParseArgsOptionsConfig {
  const all: ParseArgsOptionsConfig = { ...GLOBAL_OPTIONS };
  for (const commands of Object.values(GROUPS)) for (const c of Object.values(commands)) Object.assign(all, c.options);
  return all;
}

function parse(argv: string[], options: ParseArgsOptionsConfig, strict: boolean): { values: OptionValues; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, strict, allowPositionals: true, allowNegative: true });
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message.split('\n')[0] ?? 'bad arguments' : 'bad arguments');
  }
}

async function main(argv: string[]): Promise<void> {
  const first = parse(argv, allOptions(), false);
  const [group, name] = first.positionals;
  if (group === undefined || group === 'help') {
    process.stdout.write(`${help()}\n`);
    if (group === undefined && !first.values.help) process.exitCode = EXIT.usage;
    return;
  }
  const commands = GROUPS[group];
  if (!commands) throw new CliError(`unknown command group "${group}": use one of ${Object.keys(GROUPS).join(', ')} (npm run admin -- help)`);
  const command = name === undefined ? undefined : commands[name];
  if (!command) throw new CliError(`${name === undefined ? 'missing' : `unknown`} command${name ? ` "${group} ${name}"` : ''}: use one of ${Object.keys(commands).map((c) => `${group} ${c}`).join(', ')}`);

  const { values, positionals } = parse(argv, { ...GLOBAL_OPTIONS, ...command.options }, true);
  if (values.help) {
    process.stdout.write(`usage: npm run admin -- ${command.usage}\n  ${command.summary}\n\n${TARGET_HELP.join('\n')}\n`);
    return;
  }
  const args = positionals.slice(2);
  const names = command.args ?? [];
  const required = names.filter((n) => !n.endsWith('…'));
  const variadic = names.length > required.length;
  if (args.length < required.length || (!variadic && args.length > required.length)) {
    throw new CliError(`usage: npm run admin -- ${command.usage}`);
  }
  const { ctx, close } = await openContext(values, root);
  try {
    await command.run(ctx, values, args);
  } finally {
    await close();
  }
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  const { message, code } = describeError(err);
  process.stderr.write(`admin: ${message}\n`);
  process.exitCode = code;
}
