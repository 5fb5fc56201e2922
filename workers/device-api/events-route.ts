import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { Problem } from '../../lib/errors.ts';
import { MAX_BATCH_BYTES, MAX_EVENTS_PER_BATCH } from '../../lib/records/limits.ts';
import { eventsBody } from '../../lib/records/event.ts';
import { database } from '../db.ts';
import { checkLimit } from '../gateway/rate-limit.ts';
import { notifyOrgLog } from '../orgs/notify.ts';
import { appendEntries } from '../orgs/record-store.ts';
import { validate } from '../validate.ts';
import { deviceContext } from './device-context.ts';
import { requireDevice, type DeviceApiEnv } from './env.ts';
import { planIngest } from './ingest.ts';
import { deviceApiSettings } from './settings.ts';

const tooLarge = (detail: string) => new Problem(413, 'Payload Too Large', { detail, type: 'urn:gatehouse:problem:too-large' });

/**
 * `POST /device-api/v1/events {events: [{id, type, time, payload}, …]}`: at most MAX_EVENTS_PER_BATCH events and
 * MAX_BATCH_BYTES bytes (413 beyond), within EVENTS_RATE_LIMIT_PER_DEVICE (429 + Retry-After). Each event is stored
 * exactly once per (device, id): a retried batch answers `duplicate` for what is already stored. The answer is 200
 * with one result per event, in order; writers then poke the organisation's OrgLog for live streams.
 */
export const eventsRoute = new Hono<DeviceApiEnv>().post(
  '/device-api/v1/events',
  requireDevice(),
  async function rateLimit(c, next) {
    const rule = deviceApiSettings(c.env).eventsPerDevice;
    if (!rule) return next();
    const outcome = await checkLimit(c.env, 'subject', `device-events:${c.get('device').deviceId}`, rule).catch((err: unknown) => {
      c.get('log').warn('rate limiter unavailable', { error: err instanceof Error ? err.message : String(err) });
      return undefined;
    });
    if (outcome && !outcome.allowed) {
      throw new Problem(429, 'Too Many Requests', {
        detail: `At most ${rule.limit} event batches per ${rule.windowSeconds} s from one device.`,
        headers: { 'Retry-After': String(outcome.retryAfterSeconds) },
        type: 'urn:gatehouse:problem:rate-limited',
      });
    }
    return next();
  },
  bodyLimit({ maxSize: MAX_BATCH_BYTES, onError: () => { throw tooLarge(`A batch is at most ${MAX_BATCH_BYTES} bytes; send fewer events per request.`); } }),
  validate('json', eventsBody),
  async (c) => {
    const { events } = c.req.valid('json');
    if (events.length > MAX_EVENTS_PER_BATCH) throw tooLarge(`A batch holds at most ${MAX_EVENTS_PER_BATCH} events; this one has ${events.length}.`);
    const db = database(c.env.DB);
    const ctx = await deviceContext(db, c.get('device').deviceId);
    const plan = planIngest(events, { deviceId: ctx.deviceId, orgId: ctx.orgId, encKids: new Set(ctx.encryptionKeys.map((k) => k.kid)) });
    const seqs = await appendEntries(db, plan.entries.map((e) => e.entry));
    let stored = 0;
    plan.entries.forEach(({ index }, i) => {
      const result = plan.results[index];
      if (result && seqs[i] === null) result.status = 'duplicate';
      else stored++;
    });
    if (stored > 0 && ctx.orgId) notifyOrgLog(c, ctx.orgId);
    return c.json({ results: plan.results });
  },
);
