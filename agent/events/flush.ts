/**
 * Sends the spool: fetches the config once, encrypts each spooled event for the organisation (seal.ts), packs them in
 * order into batches within the advertised limits, and posts each batch (retries in gateway-client.ts). What the
 * server acknowledges leaves the spool; what it rejects is set aside; what could not be sent stays for the next run.
 */
import { AgentError, EXIT } from '../errors.ts';
import type { GatewayClient } from './gateway-client.ts';
import { payloadOf, sealingKey } from './seal.ts';
import { acknowledge, readSpool, setAside } from './spool.ts';

/** How a flush went, event by event. */
export type FlushReport = { stored: string[]; duplicate: string[]; rejected: { id: string; error: string }[]; left: number };

// Room for the envelope and for JSON escaping, below the server's byte limit.
const BATCH_HEADROOM = 4096;

/** Sends every spooled event; throws an `AgentError` (events kept) when the server cannot be reached or refuses a batch. */
export async function flushSpool(stateDir: string, client: GatewayClient): Promise<FlushReport> {
  const entries = readSpool(stateDir);
  const report: FlushReport = { stored: [], duplicate: [], rejected: [], left: entries.length };
  if (entries.length === 0) return report;
  const config = await client.config();
  if (config.orgId && !config.encryptionKey) {
    throw new AgentError(EXIT.REJECTED, `organisation ${config.orgId} has no encryption key yet; ${entries.length} event(s) stay in the spool`);
  }
  const key = config.encryptionKey ? await sealingKey(config.encryptionKey) : null;
  const { maxEvents, maxBatchBytes } = config.limits;
  let batch: { file: string; id: string; wire: unknown }[] = [];
  let bytes = 0;
  const send = async () => {
    if (batch.length === 0) return;
    const results = await client.send(batch.map((b) => b.wire));
    results.forEach((result, i) => {
      const item = batch[i];
      if (!item) return;
      if (result.status === 'rejected') {
        setAside(stateDir, item.file, result.error ?? 'rejected');
        report.rejected.push({ id: item.id, error: result.error ?? 'rejected' });
      } else {
        acknowledge(stateDir, item.file);
        report[result.status].push(item.id);
      }
      report.left--;
    });
    batch = [];
    bytes = 0;
  };
  for (const { file, event } of entries) {
    const wire = { id: event.id, type: event.type, time: event.time, payload: await payloadOf(event, key) };
    const size = new TextEncoder().encode(JSON.stringify(wire)).length + 1;
    if (batch.length >= maxEvents || (batch.length > 0 && bytes + size > maxBatchBytes - BATCH_HEADROOM)) await send();
    batch.push({ file, id: event.id, wire });
    bytes += size;
  }
  await send();
  return report;
}
