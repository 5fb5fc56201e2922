/** `admin claims rotate`: re-encrypts every stored claims row under the primary key of CLAIMS_FERNET_KEYS. */
import { reencryptAllClaims } from '../../workers/auth/store/claims-admin.ts';
import { CliError, EXIT, int, table, type Command } from './cli.ts';

/** The `claims` command group. */
export const claimsCommands: Record<string, Command> = {
  rotate: {
    summary: 're-encrypt every user_claims row with the first key of CLAIMS_FERNET_KEYS (MultiFernet.rotate); exits 1 if a row failed',
    usage: 'claims rotate [--batch-size N]',
    options: { 'batch-size': { type: 'string' } },
    run: async (ctx, values) => {
      const batchSize = int(values, 'batch-size') ?? 50;
      if (batchSize < 1 || batchSize > 500) throw new CliError('--batch-size must be between 1 and 500');
      const fernet = ctx.fernet();
      ctx.out.progress(`rotating claims in ${ctx.where}, ${batchSize} rows per batch`);
      const report = await reencryptAllClaims(ctx.db, fernet, ctx.by, {
        batchSize,
        onProgress: (r) => ctx.out.progress(`  ${r.processed} rows read: ${r.rotated} re-encrypted, ${r.failed.length} failed`),
      });
      ctx.out.result(report, () => [
        `re-encrypted ${report.rotated} of ${report.processed} claims rows under the primary key`,
        ...(report.changedMeanwhile ? [`${report.changedMeanwhile} rows changed during the rotation and were left as written`] : []),
        ...(report.failed.length
          ? [`${report.failed.length} rows failed and were left unchanged:`, ...table(report.failed.map((f) => ({ user_id: f.userId, reason: f.reason })), ['user_id', 'reason'])]
          : []),
      ]);
      if (report.failed.length > 0) throw new CliError(`${report.failed.length} claims rows could not be re-encrypted`, EXIT.failure);
    },
  },
};
