/**
 * Schemas of the JSON payloads: request heads (OPEN), response heads (RESPONSE) and control messages (CONTROL).
 * Both sides validate what they receive with these and nothing else (STYLE.md rule 5), so a peer can never hand the
 * Durable Object or the agent an unchecked object.
 */
import { z } from 'zod';
import { MAX_HEADERS, MAX_WINDOW, MAX_DATA_PAYLOAD } from './frame.ts';

// RFC 9110 §5.6.2: token = 1*tchar, which is what a method and a field name must be.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 §5.5: a field value never contains CR, LF or NUL (they would split or truncate the header on the far side).
const FIELD_VALUE = /^[^\r\n\0]*$/;
// origin-form (RFC 9112 §3.2.1) in visible ASCII. A leading "//" or "/\" is refused because URL parsers read it as
// a scheme-relative URL, which would let a proxied path pick the host the agent connects to.
const ORIGIN_FORM = /^\/(?![/\\])[\x21-\x7e]*$/;

/** One header field name, an RFC 9110 token. */
export const headerNameSchema = z.string().regex(TOKEN, 'header name must be an RFC 9110 token');

/** One header field value, free of CR, LF and NUL. */
export const headerValueSchema = z.string().regex(FIELD_VALUE, 'header value must not contain CR, LF or NUL');

/** Header fields as ordered [name, value] pairs, so repeated fields (Set-Cookie) survive the trip. */
export const headersSchema = z.array(z.tuple([headerNameSchema, headerValueSchema])).max(MAX_HEADERS);

/** The head of a proxied request, carried by OPEN. */
export const requestHeadSchema = z.object({
  method: z.string().max(32).regex(TOKEN, 'method must be an RFC 9110 token'),
  /** Path and query in origin-form, such as `/api/items?limit=10`. */
  path: z.string().max(16 * 1024).regex(ORIGIN_FORM, 'path must be origin-form: "/" then visible ASCII, not "//"'),
  headers: headersSchema,
  /** Set when the client asked for a WebSocket upgrade; the responder answers 101 to accept it. */
  websocket: z.literal(true).optional(),
  /**
   * Set when the request has no body: END follows OPEN at once, so the responder may send the request to its local
   * service without waiting for it (§7). A version 1 receiver that does not know the member waits for END as before.
   */
  noBody: z.literal(true).optional(),
});

/** The head of a proxied response, carried by RESPONSE: 101 accepts a WebSocket upgrade, otherwise 200–599. */
export const responseHeadSchema = z.object({
  status: z
    .number()
    .int()
    .refine((s) => s === 101 || (s >= 200 && s <= 599), 'status must be 101 or 200–599 (interim responses are not relayed)'),
  headers: headersSchema,
});

/** A request head as OPEN carries it. */
export type RequestHead = z.infer<typeof requestHeadSchema>;

/** A response head as RESPONSE carries it. */
export type ResponseHead = z.infer<typeof responseHeadSchema>;

// Unix time in seconds, like a JWT's `exp`, so a device token's expiresAt is simply its exp.
const unixSeconds = z.number().int().nonnegative();

/** Limits a side announces about what it accepts; each applies to streams opened after it is received. */
export const settingsSchema = z.object({
  /** How many streams the peer may have open towards the sender at once. */
  maxConcurrentStreams: z.number().int().min(1).max(65_536).optional(),
  /** The receive window, in bytes, the sender grants each stream the peer opens or answers. */
  initialWindow: z.number().int().min(MAX_DATA_PAYLOAD).max(MAX_WINDOW).optional(),
  /** The sender accepts binary messages holding several whole frames (§1.1); a version 1 peer that omits it gets one frame per message. */
  batchFrames: z.boolean().optional(),
});

/** Announced settings; absent members keep the protocol defaults. */
export type Settings = z.infer<typeof settingsSchema>;

/** The agent's first frame: who it is and what it accepts. */
export const helloSchema = z.object({
  type: z.literal('hello'),
  agentVersion: z.string().min(1).max(64),
  settings: settingsSchema.optional(),
});

/** How often the agent sends its heartbeat unless `config` says otherwise. */
export const DEFAULT_PING_INTERVAL_SECONDS = 15;

/** How long the agent waits for the heartbeat answer unless `config` says otherwise: a dead link shows within 25 s. */
export const DEFAULT_PING_TIMEOUT_SECONDS = 10;

/** The cloud's first frame and any later change: tunnel settings and heartbeat timing for the agent. */
export const configSchema = z.object({
  type: z.literal('config'),
  settings: settingsSchema.optional(),
  /** How often the agent sends the text heartbeat "ping". */
  pingIntervalSeconds: z.number().int().min(1).max(3600).optional(),
  /** How long the agent waits for "pong" before it declares the link dead and reconnects. */
  pingTimeoutSeconds: z.number().int().min(1).max(3600).optional(),
});

/** A fresh claim code for an unclaimed device, which the agent stores and prints. */
export const claimCodeSchema = z.object({
  type: z.literal('claim_code'),
  code: z.string().min(1).max(64),
  expiresAt: unixSeconds,
});

/** A short-lived device token (JWT) for the Device Gateway. */
export const deviceTokenSchema = z.object({
  type: z.literal('device_token'),
  token: z.string().min(1).max(16 * 1024),
  expiresAt: unixSeconds,
});

/** The device has been claimed; the agent can forget its claim code. */
export const claimedSchema = z.object({
  type: z.literal('claimed'),
  ownerId: z.string().min(1).max(128).optional(),
});

/** Every control message, told apart by `type`; unknown members are dropped so newer peers can add fields. */
export const controlMessageSchema = z.discriminatedUnion('type', [
  helloSchema,
  configSchema,
  claimCodeSchema,
  deviceTokenSchema,
  claimedSchema,
]);

/** A validated control message. */
export type ControlMessage = z.infer<typeof controlMessageSchema>;

/** Control messages the agent sends; every other type comes from the cloud. */
export type AgentControlMessage = Extract<ControlMessage, { type: 'hello' }>;

/** Control messages the cloud sends. */
export type CloudControlMessage = Exclude<ControlMessage, AgentControlMessage>;

/** Which side may send a control message, so a receiver can refuse one that came from the wrong direction. */
export const controlSender = (message: ControlMessage): 'agent' | 'cloud' => (message.type === 'hello' ? 'agent' : 'cloud');

/** A short, loggable summary of a schema failure: the first issue's path and message, never the offending value. */
export function describeIssues(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
