/**
 * A log entry as readers see it, from `GET /api/orgs/:orgId/records` and the stream. The schema is shared: the Worker
 * documents its API with it and clients (the connector, tests) validate what they read.
 */
import { z } from 'zod';

/** One entry of the log. */
export const recordView = z.object({
  id: z.string(),
  kind: z.enum(['event', 'record']),
  orgId: z.string().nullable(),
  deviceId: z.string().nullable().describe('the device that sent an event'),
  userId: z.string().nullable().describe('the member whose token appended a signed record'),
  type: z.string(),
  time: z.string().describe('RFC 3339, exactly as sent (and signed)'),
  receivedAt: z.iso.datetime(),
  payloadFormat: z.enum(['jwe', 'json']),
  payload: z.unknown().describe('a compact JWE string, or the JSON value'),
  encKid: z.string().nullable().describe('the organisation encryption key a JWE payload is addressed to'),
  signature: z.string().nullable().describe('detached compact JWS over the canonical record'),
  sigKid: z.string().nullable(),
  size: z.number().int().describe('payload bytes'),
});

/** One log entry. */
export type RecordView = z.output<typeof recordView>;

/** One page: entries oldest first, the cursor to continue after the last one (also when the page is empty), and whether more are waiting. */
export const recordPage = z.object({
  records: z.array(recordView),
  cursor: z.string().describe('pass as `after` to continue; keep it to resume later'),
  hasMore: z.boolean(),
});

/** Frames the server sends on `GET /api/orgs/:orgId/records/stream`. */
export const streamServerFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('record'), cursor: z.string(), record: recordView }),
  /** Sent once, when the replay from `after` has reached the end of the log; live records follow. */
  z.object({ type: z.literal('caught_up'), cursor: z.string() }),
  z.object({ type: z.literal('pong') }),
  z.object({ type: z.literal('error'), error: z.string() }),
]);

/** A frame from the server. */
export type StreamServerFrame = z.output<typeof streamServerFrame>;

/** Frames a client may send: only `ping` (anything else closes the socket with 1008). */
export const streamClientFrame = z.discriminatedUnion('type', [z.object({ type: z.literal('ping') })]);

/** A frame from a client. */
export type StreamClientFrame = z.output<typeof streamClientFrame>;
