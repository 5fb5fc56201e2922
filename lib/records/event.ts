/**
 * The Device Gateway's wire format, shared by the Worker (which validates requests with it) and the agent (which
 * validates answers with it): a batch of events `{id, type, time, payload}`, per-event results, and the device config.
 */
import { z } from 'zod';
import { MAX_BATCH_BYTES, MAX_EVENTS_PER_BATCH, MAX_PAYLOAD_BYTES } from './limits.ts';

/** An event or record id: 1–128 URL-safe characters, chosen by the sender so that retries are idempotent. */
export const recordId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1–128 of A-Z a-z 0-9 . _ : -');

/** An event or record type, e.g. `door.opened` or `sensor/temperature`. */
export const recordType = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/, 'must be 1–64 of A-Z a-z 0-9 . _ : / - (starting with a letter or digit)');

/** An RFC 3339 time with a UTC offset. */
export const recordTime = z.iso.datetime({ offset: true });

/** One event of a batch. `payload` is a compact JWE for devices of an organisation, any JSON value otherwise. */
export const deviceEvent = z.strictObject({ id: recordId, type: recordType, time: recordTime, payload: z.unknown() });

/** One event as sent. */
export type DeviceEvent = z.output<typeof deviceEvent>;

/** The envelope of `POST /device-api/v1/events`; each event is then validated on its own, so one bad event rejects only itself. */
export const eventsBody = z.strictObject({ events: z.array(z.unknown()).min(1) });

/** What became of one event: stored now, already stored earlier (same device and id), or rejected with a reason. */
export const eventResult = z.object({
  id: z.string(),
  status: z.enum(['stored', 'duplicate', 'rejected']),
  error: z.string().optional(),
});

/** One event's result. */
export type EventResult = z.output<typeof eventResult>;

/** The answer to `POST /device-api/v1/events`: one result per event, in the order sent. */
export const eventsResponse = z.object({ results: z.array(eventResult) });

/** A public JWK as served to devices. */
const publicJwk = z.looseObject({ kty: z.string(), kid: z.string() });

/** The answer to `GET /device-api/v1/config`. */
export const deviceConfig = z.object({
  deviceId: z.string(),
  /** Null for a device that belongs to no organisation: it sends plain JSON payloads, visible to its users. */
  orgId: z.string().nullable(),
  /** The organisation's current encryption key; null without an organisation or before the organisation registered one. */
  encryptionKey: z.object({ kid: z.string(), jwk: publicJwk }).nullable(),
  settings: z.record(z.string(), z.unknown()),
  serverTime: z.iso.datetime(),
  limits: z.object({ maxEvents: z.number().int(), maxBatchBytes: z.number().int(), maxPayloadBytes: z.number().int() }),
});

/** The device configuration. */
export type DeviceConfig = z.output<typeof deviceConfig>;

/** The limits as the config advertises them. */
export const GATEWAY_LIMITS = { maxEvents: MAX_EVENTS_PER_BATCH, maxBatchBytes: MAX_BATCH_BYTES, maxPayloadBytes: MAX_PAYLOAD_BYTES } as const;
