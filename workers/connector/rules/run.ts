/**
 * Runs pending business-rule runs: append a record signed with the organisation's key (optionally encrypted to its
 * current key), or POST a signed webhook (Standard Webhooks). The output id and time were fixed when the run was
 * created, and the signed body is stored on the first attempt and re-sent unchanged, so a retry after a crash is a
 * duplicate on the platform, never a second record. Failures retry with backoff up to the rule's maxAttempts.
 */
import type { JsonValue } from '../../../lib/records/canonical.ts';
import { sealPayload } from '../../../lib/records/open.ts';
import { signRecord } from '../../../lib/records/signature.ts';
import { webhookHeaders } from '../../../lib/webhook-signature.ts';
import type { RuleDef } from '../config.ts';
import type { OrgKeys } from '../keys.ts';
import { PlatformError, type PlatformClient } from '../platform.ts';

type Run = { rule: string; record_id: string; attempts: number; output_id: string; output_time: string; output_body: string | null };
type Source = { id: string; type: string; time: string; device_id: string | null; payload: string | null };

const backoffMs = (attempts: number) => Math.min(60_000 * 30, 1000 * 2 ** attempts);

/** What the rule appends or posts about its source record. */
const outputPayload = (rule: RuleDef, src: Source) => ({ rule: rule.name, source: { id: src.id, type: src.type, time: src.time, deviceId: src.device_id }, data: src.payload === null ? null : (JSON.parse(src.payload) as JsonValue) });

/** Processes up to `limit` due runs; returns how many completed. */
export async function runDueRules(db: D1Database, rules: readonly RuleDef[], ctx: { orgId: string; keys: OrgKeys; platform: PlatformClient; secrets: Record<string, unknown> }, limit = 50, now = Date.now()): Promise<number> {
  const { results } = await db
    .prepare("SELECT rule, record_id, attempts, output_id, output_time, output_body FROM rule_runs WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?")
    .bind(now, limit)
    .all<Run>();
  let done = 0;
  for (const run of results) {
    const rule = rules.find((r) => r.name === run.rule);
    const finish = (status: 'done' | 'failed' | 'pending', result: string, body?: string) =>
      db
        .prepare('UPDATE rule_runs SET status = ?, attempts = attempts + 1, result = ?, output_body = COALESCE(?, output_body), updated_at = ?, next_attempt_at = ? WHERE rule = ? AND record_id = ?')
        .bind(status, result.slice(0, 500), body ?? null, Date.now(), Date.now() + backoffMs(run.attempts + 1), run.rule, run.record_id)
        .run();
    if (!rule) {
      await finish('failed', 'the rule is no longer in the configuration');
      continue;
    }
    const src = await db.prepare('SELECT id, type, time, device_id, payload FROM records WHERE id = ?').bind(run.record_id).first<Source>();
    if (!src) {
      await finish('failed', 'the source record is no longer stored');
      continue;
    }
    const giveUp = run.attempts + 1 >= rule.maxAttempts;
    let body = run.output_body ?? undefined;
    try {
      if (rule.action.kind === 'append') {
        if (!body) {
          const value = outputPayload(rule, src);
          const payload = rule.action.encrypt ? await sealPayload(value, ctx.keys.sealing) : value;
          const content = { id: run.output_id, orgId: ctx.orgId, type: rule.action.type, time: run.output_time, payload };
          const signature = await signRecord(content, ctx.keys.signing.key, { kid: ctx.keys.signing.kid, alg: ctx.keys.signing.alg });
          body = JSON.stringify({ id: content.id, type: content.type, time: content.time, payload, signature });
          // Stored before it is sent: a crash after the platform stored it re-sends the same bytes (a duplicate).
          await db.prepare('UPDATE rule_runs SET output_body = ? WHERE rule = ? AND record_id = ?').bind(body, run.rule, run.record_id).run();
        }
        const answer = await ctx.platform.append(JSON.parse(body) as Parameters<PlatformClient['append']>[0]);
        await finish('done', `appended ${answer.record.id} (${answer.status})`, body);
      } else {
        const secret = ctx.secrets[rule.action.secret];
        if (typeof secret !== 'string' || !secret) throw new PlatformError(0, `the secret ${rule.action.secret} is not set`);
        body ??= JSON.stringify({ type: 'connector.rule', ...outputPayload(rule, src) });
        const timestamp = Math.floor(Date.now() / 1000);
        const headers = await webhookHeaders(secret, { id: run.output_id, timestamp, body });
        const res = await fetch(rule.action.url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(15_000) });
        await res.body?.cancel();
        if (!res.ok) throw new PlatformError(res.status, `the webhook answered HTTP ${res.status}`);
        await finish('done', `webhook answered HTTP ${res.status}`, body);
      }
      done++;
    } catch (e) {
      const message = e instanceof Error ? e.message : 'failed';
      await finish(giveUp ? 'failed' : 'pending', message, body);
    }
  }
  return done;
}
