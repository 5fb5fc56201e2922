import { z } from 'zod';
import { settingsSchema } from '../../lib/tunnel/index.ts';
import { connectIdentitySchema } from '../../workers/devices/internal.ts';

/**
 * What the agent's socket carries across hibernation (`serializeAttachment`, at most 2 KiB): who connected, what the
 * agent announced in `hello`, and the highest stream id used on the wire. Stream ids only grow within a connection
 * (docs/tunnel-protocol.md §4), so a stream table rebuilt after a wake-up must start above that id.
 */
export const socketStateSchema = connectIdentitySchema.extend({
  /** Tells this connection apart from the device's earlier and later ones (events, replacement). */
  connectionId: z.string().min(1),
  connectedAt: z.number().int(),
  /** From `hello`; null until the agent sent it. */
  agentVersion: z.string().nullable(),
  /** The agent's announced settings; null until `hello`, before which no stream may be opened. */
  peerSettings: settingsSchema.nullable(),
  /** The highest stream id this side has put on the wire (0: none yet). */
  lastWireId: z.number().int().min(0),
});

/** One agent socket's state. */
export type SocketState = z.infer<typeof socketStateSchema>;

/** The tag of agent sockets in `ctx.getWebSockets(tag)`. */
export const AGENT_TAG = 'agent';

/** Reads a socket's state, or undefined for a socket without a valid one. */
export function socketStateOf(ws: WebSocket): SocketState | undefined {
  const parsed = socketStateSchema.safeParse(ws.deserializeAttachment());
  return parsed.success ? parsed.data : undefined;
}
