/** `admin import moped FILE…`: imports the Moped DynamoDB claims table, re-encrypting each user's claims under the current key. */
import { readFileSync } from 'node:fs';
import { createMultiFernet, type MultiFernet } from '../../lib/fernet.ts';
import { importUsers, type ImportEntry } from '../../workers/auth/store/claims-admin.ts';
import { CliError, EXIT, flag, str, table, type Command } from './cli.ts';
import { cognitoImportCommand } from './cognito-import.ts';
import { decodeMopedItem, parseDynamoExport, type ItemFailure } from './moped-export.ts';

/** The old key ring from --old-key KEY[,KEY…] or --old-key-file PATH (which keeps the key out of the process list). */
function oldKeyRing(values: Parameters<Command['run']>[1]): MultiFernet {
  const inline = str(values, 'old-key');
  const file = str(values, 'old-key-file');
  if ((inline === undefined) === (file === undefined)) throw new CliError('import moped needs exactly one of --old-key KEY or --old-key-file PATH');
  let keys = inline ?? '';
  if (file !== undefined) {
    try {
      keys = readFileSync(file, 'utf8').trim();
    } catch {
      throw new CliError(`cannot read --old-key-file ${file}`);
    }
  }
  try {
    return createMultiFernet(keys);
  } catch {
    throw new CliError('the old key is not a Fernet key (32 bytes of URL-safe base64, as Fernet.generate_key() prints)');
  }
}

type Counts = { imported: number; updated: number; skipped: number; failed: number };

/** The `import` command group. */
export const importCommands: Record<string, Command> = {
  cognito: cognitoImportCommand,
  moped: {
    summary: 'import a DynamoDB JSON export of the Moped claims table (aws dynamodb scan output, or S3 export lines); idempotent',
    usage: 'import moped FILE [FILE…] (--old-key KEY | --old-key-file PATH) [--dry-run]',
    args: ['FILE', 'FILE…'],
    options: { 'old-key': { type: 'string' }, 'old-key-file': { type: 'string' }, 'dry-run': { type: 'boolean' } },
    run: async (ctx, values, files) => {
      const oldKeys = oldKeyRing(values);
      const fernet = ctx.fernet();
      const dryRun = flag(values, 'dry-run');
      const records = files.flatMap((file) => {
        let bytes: Uint8Array;
        try {
          bytes = readFileSync(file);
        } catch {
          throw new CliError(`cannot read ${file}`);
        }
        return parseDynamoExport(bytes).map((r) => ({ ...r, label: files.length > 1 ? `${file} ${r.label}` : r.label }));
      });
      ctx.out.progress(`${dryRun ? 'checking (dry run)' : 'importing'} ${records.length} items into ${ctx.where}`);

      const failures: ItemFailure[] = [];
      const entries: { entry: ImportEntry; label: string }[] = [];
      for (const rec of records) {
        const decoded = await decodeMopedItem(rec, oldKeys);
        if ('reason' in decoded) failures.push(decoded);
        else entries.push({ entry: decoded, label: rec.label });
      }
      const results = await importUsers(
        ctx.db,
        fernet,
        entries.map((e) => e.entry),
        ctx.by,
        { dryRun, source: 'moped', onProgress: (done) => ctx.out.progress(`  ${done}/${entries.length} users done`) },
      );
      const counts: Counts = { imported: 0, updated: 0, skipped: 0, failed: failures.length };
      results.forEach((result, i) => {
        if (result.outcome !== 'failed') counts[result.outcome] += 1;
        else {
          counts.failed += 1;
          failures.push({ label: entries[i]?.label ?? '?', userId: entries[i]?.entry.email ?? null, reason: result.reason });
        }
      });

      const report = { dryRun, ...counts, failures };
      ctx.out.result(report, () => [
        `${dryRun ? 'dry run: would have ' : ''}imported ${counts.imported}, updated ${counts.updated}, skipped ${counts.skipped} (already identical), failed ${counts.failed}`,
        ...(failures.length
          ? ['failures:', ...table(failures.map((f) => ({ item: f.label, user_id: f.userId ?? '-', reason: f.reason })), ['item', 'user_id', 'reason'])]
          : []),
        ...(entries.length === 0 && failures.some((f) => f.reason.startsWith('bad token')) ? ['no item decrypted: is --old-key the key the Moped Lambda used?'] : []),
      ]);
      if (counts.failed > 0) throw new CliError(`${counts.failed} of ${records.length} items were not imported`, EXIT.failure);
    },
  },
};
