import { z } from 'zod';

/**
 * What each stream socket carries across hibernation (`serializeAttachment`): whose it is, until when their token is
 * valid, and how far into the organisation's log it has been sent. The Worker builds the first one after checking
 * membership and the cursor, and hands it over in the upgrade request.
 */
export const streamState = z.object({
  orgId: z.string().min(1),
  /** The user, or `client:<clientId>` for an organisation's bound app client. */
  userId: z.string().min(1),
  /** The last sequence number sent (or the cursor's, before anything is sent). */
  lastSeq: z.number().int().min(0),
  /** Whether `caught_up` has been sent. */
  caughtUp: z.boolean(),
  /** When the user's token expires, ms; the socket is closed then. */
  expiresAt: z.number().int(),
});

/** One socket's state. */
export type StreamState = z.output<typeof streamState>;

/** The internal header the Worker passes the initial state in (the Durable Object is not reachable from outside). */
export const STREAM_STATE_HEADER = 'x-gatehouse-stream-state';

/** Reads a socket's state, or undefined for a socket without a valid one. */
export function stateOf(ws: WebSocket): StreamState | undefined {
  const parsed = streamState.safeParse(ws.deserializeAttachment());
  return parsed.success ? parsed.data : undefined;
}

/** Close codes the stream uses (RFC 6455 §7.4.1 and the 4000–4999 private range). */
export const CLOSE = { policy: 1008, expired: 4401, revoked: 4403 } as const;
