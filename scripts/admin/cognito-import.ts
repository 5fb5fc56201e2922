/**
 * `admin import cognito FILE…`: imports users from a Cognito pool export (ListUsers JSON or Cognito's CSV) with their
 * original `sub`, email, attributes and groups, as RESET_REQUIRED (no password: Cognito never exports hashes). Claims
 * come separately with `import moped`; passwords by reset or by lazy migration at first sign-in (README, "Migrating from Cognito").
 */
import { readFileSync } from 'node:fs';
import { applyGroupExport, parseCognitoExport, type CognitoImportEntry } from '../../workers/auth/cognito/import-format.ts';
import { importCognitoUsers } from '../../workers/auth/cognito/import-users.ts';
import { CliError, EXIT, flag, many, table, type Command } from './cli.ts';

function readExport(file: string): CognitoImportEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`cannot read ${file}`);
  }
  try {
    return parseCognitoExport(text);
  } catch (err) {
    throw new CliError(`${file} is neither a ListUsers JSON export nor a Cognito CSV export: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The `import cognito` command. */
export const cognitoImportCommand: Command = {
  summary: 'import users from a Cognito export (aws cognito-idp list-users JSON, or the CSV export) keeping their sub; status RESET_REQUIRED; idempotent',
  usage: 'import cognito FILE [FILE…] [--groups GROUP=FILE …] [--dry-run]',
  args: ['FILE', 'FILE…'],
  options: { groups: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' } },
  run: async (ctx, values, files) => {
    const dryRun = flag(values, 'dry-run');
    const entries = files.flatMap((file) => readExport(file).map((e) => ({ ...e, label: files.length > 1 ? `${file} ${e.label}` : e.label })));
    for (const spec of many(values, 'groups')) {
      const at = spec.indexOf('=');
      if (at < 1) throw new CliError(`--groups takes GROUP=FILE (a list-users-in-group export), not "${spec}"`);
      const matched = applyGroupExport(entries, spec.slice(0, at), readExport(spec.slice(at + 1)));
      ctx.out.progress(`group ${spec.slice(0, at)}: ${matched} members matched`);
    }
    ctx.out.progress(`${dryRun ? 'checking (dry run)' : 'importing'} ${entries.length} users into ${ctx.where}`);
    const results = await importCognitoUsers(ctx.db, entries, ctx.by, { dryRun, onProgress: (done) => ctx.out.progress(`  ${done}/${entries.length} users done`) });
    const counts = { imported: 0, updated: 0, skipped: 0, failed: 0 };
    const failures: { item: string; user: string; reason: string }[] = [];
    results.forEach((result, i) => {
      counts[result.outcome] += 1;
      if (result.outcome === 'failed') failures.push({ item: entries[i]?.label ?? '?', user: entries[i]?.email ?? entries[i]?.username ?? '-', reason: result.reason });
    });
    ctx.out.result({ dryRun, ...counts, failures }, () => [
      `${dryRun ? 'dry run: would have ' : ''}imported ${counts.imported}, updated ${counts.updated}, skipped ${counts.skipped} (unchanged), failed ${counts.failed}`,
      ...(failures.length ? ['failures:', ...table(failures, ['item', 'user', 'reason'])] : []),
      ...(counts.imported > 0 && !dryRun ? ['imported users have no password: they reset it by mailed code, or lazy migration sets it at their first sign-in'] : []),
    ]);
    if (counts.failed > 0) throw new CliError(`${counts.failed} of ${entries.length} users were not imported`, EXIT.failure);
  },
};
