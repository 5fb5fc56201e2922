import { utf8 } from '../../lib/encoding.ts';
import { canonicalJson, NotCanonicalizable } from '../../lib/records/canonical.ts';
import { deviceEvent, type EventResult } from '../../lib/records/event.ts';
import { checkEventJwe } from '../../lib/records/jwe-header.ts';
import { MAX_PAYLOAD_BYTES } from '../../lib/records/limits.ts';
import type { NewLogEntry } from '../orgs/record-store.ts';

/** Where a device's events go: its organisation's log (JWE payloads to one of `encKids`), or its own (plain JSON). */
export type IngestTarget = { deviceId: string; orgId: string | null; encKids: ReadonlySet<string> };

/** A batch split into the entries to append and the results of the events refused before any insert. */
export type IngestPlan = { results: EventResult[]; entries: { index: number; entry: NewLogEntry }[] };

/**
 * Checks each event of a batch on its own (one bad event rejects only itself) and turns the good ones into log
 * entries. Events of an organisation's device must carry a compact JWE addressed to one of its encryption keys (header
 * checked, never decrypted); a device without an organisation sends any JSON value, stored as canonical JSON text.
 */
export function planIngest(events: unknown[], target: IngestTarget): IngestPlan {
  const results: EventResult[] = [];
  const entries: IngestPlan['entries'] = [];
  events.forEach((raw, index) => {
    const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? String((raw as { id: string }).id).slice(0, 128) : '';
    const parsed = deviceEvent.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      results.push({ id, status: 'rejected', error: issue ? `${issue.path.join('.') || 'event'}: ${issue.message}` : 'invalid event' });
      return;
    }
    const event = parsed.data;
    const base = { id: event.id, kind: 'event' as const, orgId: target.orgId, deviceId: target.deviceId, userId: null, type: event.type, time: event.time, signature: null, sigKid: null };
    if (target.orgId !== null) {
      const check = checkEventJwe(event.payload, { kids: target.encKids, event });
      if (!check.ok) return void results.push({ id: event.id, status: 'rejected', error: check.error });
      const payload = event.payload as string;
      entries.push({ index, entry: { ...base, payloadFormat: 'jwe', payload, encKid: check.header.kid, size: payload.length } });
    } else {
      let text: string;
      try {
        text = canonicalJson(event.payload === undefined ? null : event.payload);
      } catch (err) {
        return void results.push({ id: event.id, status: 'rejected', error: `payload: ${err instanceof NotCanonicalizable ? err.message : 'not JSON'}` });
      }
      const size = utf8(text).length;
      if (size > MAX_PAYLOAD_BYTES) return void results.push({ id: event.id, status: 'rejected', error: `payload is larger than ${MAX_PAYLOAD_BYTES} bytes` });
      entries.push({ index, entry: { ...base, payloadFormat: 'json', payload: text, encKid: null, size } });
    }
    results.push({ id: event.id, status: 'stored' });
  });
  return { results, entries };
}
