/**
 * Where an admin command acts: the local D1 under wrangler's state dir (through Miniflare, or through wrangler with
 * --via-wrangler) or the deployed database (`--remote`, through wrangler), and where CLAIMS_FERNET_KEYS comes from.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ParseArgsOptionsConfig } from 'node:util';
import { createMultiFernet, type MultiFernet } from '../../lib/fernet.ts';
import type { AdminActor } from '../../workers/auth/store/client-admin.ts';
import { database, type Database } from '../../workers/db.ts';
import { readDotenv } from '../lib/dotenv.ts';
import { createWranglerD1 } from '../lib/remote-d1.ts';
import { CliError, consoleOutput, flag, str, type OptionValues, type Output } from './cli.ts';

/** Options every command takes. `--via-wrangler` (local only) runs the remote code path against local state, for tests. */
export const GLOBAL_OPTIONS = {
  local: { type: 'boolean' },
  remote: { type: 'boolean' },
  'persist-to': { type: 'string' },
  'dev-vars': { type: 'string' },
  'env-file': { type: 'string' },
  config: { type: 'string' },
  env: { type: 'string' },
  json: { type: 'boolean' },
  yes: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'via-wrangler': { type: 'boolean' },
} as const satisfies ParseArgsOptionsConfig;

/** What a command gets: the database, the actor for the audit log, output, and the claims keys on demand. */
export type AdminContext = {
  db: Database;
  by: AdminActor;
  out: Output;
  json: boolean;
  remote: boolean;
  /** A description of the target for notices, e.g. `local D1 in .wrangler/state`. */
  where: string;
  /** The CLAIMS_FERNET_KEYS ring; throws a clear error when the keys are missing. */
  fernet: () => MultiFernet;
  /** The ring when keys are available, else null (for commands that can do without). */
  maybeFernet: () => MultiFernet | null;
  /** Refuses a destructive change on the deployed database unless --yes was given. */
  confirm: (what: string) => void;
};

/** Reads CLAIMS_FERNET_KEYS: locally from .dev.vars (or --dev-vars), remotely only from an explicit file or the environment. */
function claimsKeys(values: OptionValues, root: string, remote: boolean): { keys: string | undefined; hint: string } {
  const explicit = str(values, 'dev-vars') ?? str(values, 'env-file');
  if (explicit !== undefined && !existsSync(explicit)) throw new CliError(`secrets file not found: ${explicit}`);
  // Remotely, the local .dev.vars holds development keys: using them would encrypt production claims under the wrong key.
  const file = explicit ?? (remote ? undefined : path.join(root, '.dev.vars'));
  const fromFile = file ? readDotenv(file).CLAIMS_FERNET_KEYS : undefined;
  const hint = remote
    ? 'pass --dev-vars PATH or --env-file PATH holding the production CLAIMS_FERNET_KEYS, or set the CLAIMS_FERNET_KEYS environment variable'
    : `add it to ${file ?? '.dev.vars'} (npm run setup generates it), pass --dev-vars PATH, or set the CLAIMS_FERNET_KEYS environment variable`;
  return { keys: fromFile || process.env.CLAIMS_FERNET_KEYS || undefined, hint };
}

/** Opens the target the global options name; `close` releases it (Miniflare) and must be called. */
export async function openContext(values: OptionValues, root: string): Promise<{ ctx: AdminContext; close: () => Promise<void> }> {
  const remote = flag(values, 'remote');
  if (remote && flag(values, 'local')) throw new CliError('choose --local or --remote, not both');
  if (remote && (str(values, 'persist-to') !== undefined || flag(values, 'via-wrangler'))) throw new CliError('--persist-to and --via-wrangler are for --local only');
  const configPath = path.resolve(str(values, 'config') ?? path.join(root, 'wrangler.toml'));
  const stateDir = path.resolve(str(values, 'persist-to') ?? path.join(root, '.wrangler/state'));

  let d1: D1Database;
  let close = async () => {};
  let where: string;
  if (remote) {
    const env = str(values, 'env');
    d1 = createWranglerD1({ configPath, cwd: root, target: { remote: true, ...(env ? { env } : {}) } });
    where = `remote D1 (wrangler d1 execute --remote${env ? ` --env ${env}` : ''})`;
  } else {
    if (!existsSync(path.join(stateDir, 'v3', 'd1'))) {
      throw new CliError(`no local database in ${stateDir}: run \`npm run setup\` first (or pass --persist-to DIR)`);
    }
    if (flag(values, 'via-wrangler')) {
      d1 = createWranglerD1({ configPath, cwd: root, target: { remote: false, persistTo: stateDir } });
      where = `local D1 in ${stateDir} (via wrangler)`;
    } else {
      // Imported here: Miniflare takes a second to load, which --remote, --via-wrangler and usage errors never need.
      const { openLocalD1 } = await import('../lib/local-d1.ts');
      const local = await openLocalD1({ configPath, stateDir });
      d1 = local.db;
      close = local.dispose;
      where = `local D1 in ${stateDir}`;
    }
  }

  const { keys, hint } = claimsKeys(values, root, remote);
  let ring: MultiFernet | undefined;
  const fernet = () => {
    if (!keys) throw new CliError(`CLAIMS_FERNET_KEYS is needed for this command: ${hint}`);
    try {
      ring ??= createMultiFernet(keys);
    } catch {
      throw new CliError('CLAIMS_FERNET_KEYS is not a valid comma-separated list of Fernet keys');
    }
    return ring;
  };
  const json = flag(values, 'json');
  const ctx: AdminContext = {
    db: database(d1),
    by: { actor: 'admin-cli' },
    out: consoleOutput(json),
    json,
    remote,
    where,
    fernet,
    maybeFernet: () => (keys ? fernet() : null),
    confirm: (what) => {
      if (remote && !flag(values, 'yes')) throw new CliError(`refusing to ${what} on the remote database without --yes`);
    },
  };
  return { ctx, close };
}
