import { z } from 'zod';
import { recordId, recordTime, recordType } from '../lib/records/event.ts';
import { parseOptions, STATE_DIR_OPTION, type Command } from './command.ts';
import { serverUrl } from './enroll.ts';
import { AgentError, EXIT } from './errors.ts';
import { flushSpool, type FlushReport } from './events/flush.ts';
import { gatewayClient } from './events/gateway-client.ts';
import { spoolEvent } from './events/spool.ts';
import { loadState, resolveStateDir } from './state.ts';

const USAGE = 'gatehouse-agent send-event (--type TYPE --data JSON [--id ID] [--time RFC3339] | --flush) [--url URL] [--state-dir DIR] [--retries N]';

const usage = (message: string) => new AgentError(EXIT.USAGE, `${message}\nusage: ${USAGE}`);

function checked<T>(schema: z.ZodType<T>, value: unknown, name: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw usage(`--${name} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return parsed.data;
}

const summary = (r: FlushReport) =>
  `sent: ${r.stored.length} stored, ${r.duplicate.length} already stored, ${r.rejected.length} rejected${r.left ? `, ${r.left} left in the spool` : ''}`;

/**
 * `send-event`: spools the event (so nothing is lost), then flushes the whole spool, oldest first: fetches the config,
 * encrypts each event for the device's organisation (plain JSON without one), sends batches with retries (same ids),
 * and prints the event id. Offline, the event stays spooled (exit 5) and a later run, or `--flush`, sends it.
 */
export const sendEvent: Command = {
  name: 'send-event',
  summary: 'send an event to the Device Gateway (end-to-end encrypted for the organisation; spooled while offline)',
  usage: USAGE,
  async run(args) {
    const opts = parseOptions(
      args,
      { type: { type: 'string' }, data: { type: 'string' }, id: { type: 'string' }, time: { type: 'string' }, flush: { type: 'boolean' }, url: { type: 'string' }, retries: { type: 'string' }, ...STATE_DIR_OPTION },
      USAGE,
    );
    const retries = checked(z.coerce.number().int().min(0).max(10), opts.retries ?? '3', 'retries');
    const dir = resolveStateDir(opts['state-dir']);
    let id: string | undefined;
    if (!opts.flush || opts.type !== undefined || opts.data !== undefined) {
      if (opts.type === undefined || opts.data === undefined) throw usage('--type and --data are required (or --flush alone)');
      let data: unknown;
      try {
        data = JSON.parse(opts.data);
      } catch {
        throw usage('--data must be JSON');
      }
      id = checked(recordId, opts.id ?? crypto.randomUUID(), 'id');
      const event = { id, type: checked(recordType, opts.type, 'type'), time: checked(recordTime, opts.time ?? new Date().toISOString(), 'time'), data: checked(z.json(), data, 'data') };
      loadState(dir);
      spoolEvent(dir, event);
    }
    const state = loadState(dir);
    const url = opts.url ? serverUrl(opts.url, USAGE) : state.url;
    const client = await gatewayClient(state, url, { retries, baseDelayMs: 500 });
    let report: FlushReport;
    try {
      report = await flushSpool(dir, client);
    } catch (e) {
      if (e instanceof AgentError && id) throw new AgentError(e.code, `${e.message}; event ${id} is kept in the spool and will be sent by the next run`);
      throw e;
    }
    console.error(`gatehouse-agent send-event: ${summary(report)}`);
    for (const r of report.rejected) console.error(`gatehouse-agent send-event: event ${r.id} rejected: ${r.error}`);
    if (id) console.log(id);
    return id && report.rejected.some((r) => r.id === id) ? EXIT.REJECTED : EXIT.OK;
  },
};
