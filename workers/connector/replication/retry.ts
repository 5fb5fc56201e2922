/**
 * Records that could not be decrypted are kept with their ciphertext and reason; when a key is added (a new kid in
 * ORG_ENCRYPTION_KEYS), they are opened again, indexed, and the rules they now match get their runs.
 */
import type { DecryptionKeys } from '../../../lib/records/open.ts';
import type { RuleDef } from '../config.ts';
import { openRow, type RecordRow } from './row.ts';
import { ruleRunStatements } from './store.ts';

/** Re-opens failed rows (in chunks); returns how many decrypted now and how many still fail. */
export async function retryUndecryptable(db: D1Database, keys: DecryptionKeys, rules: readonly RuleDef[], now = Date.now()): Promise<{ decrypted: number; stillFailing: number }> {
  let decrypted = 0;
  let stillFailing = 0;
  let afterSeq = 0;
  for (;;) {
    const { results } = await db
      .prepare("SELECT seq, id, kind, type, time, ciphertext FROM records WHERE decrypt_status = 'failed' AND seq > ? ORDER BY seq LIMIT 200")
      .bind(afterSeq)
      .all<{ seq: number; id: string; kind: 'event' | 'record'; type: string; time: string; ciphertext: string | null }>();
    if (results.length === 0) break;
    afterSeq = results.at(-1)?.seq ?? afterSeq;
    const updates: D1PreparedStatement[] = [];
    const opened: RecordRow[] = [];
    for (const r of results) {
      const row = await openRow({ id: r.id, kind: r.kind, type: r.type, time: r.time, payload: r.ciphertext }, keys);
      if (row.decrypt_status === 'failed') {
        stillFailing++;
        updates.push(db.prepare('UPDATE records SET decrypt_error = ? WHERE seq = ?').bind(row.decrypt_error, r.seq));
        continue;
      }
      decrypted++;
      updates.push(db.prepare('UPDATE records SET payload = ?, body = ?, decrypt_status = ?, decrypt_error = NULL, ciphertext = NULL WHERE seq = ?').bind(row.payload, row.body, row.decrypt_status, r.seq));
      opened.push({ ...(row as RecordRow), id: r.id, type: r.type });
    }
    await db.batch([...updates, ...(await ruleRunStatements(db, rules, opened, now))]);
  }
  return { decrypted, stillFailing };
}
