/**
 * What a running tunnel agent reports. The reconnect loop and the sessions emit these; the CLI's logger turns each
 * into one line, and tests and embedders listen to them directly. No event carries a token or a key.
 */
import type { RequestRecord } from './link.ts';

/** Every event, by name, with its one payload. */
export type TunnelAgentEvents = {
  /** An attempt to open the tunnel is starting. */
  connecting: [{ attempt: number; url: string }];
  /** The WebSocket is open and authenticated: the tunnel is up. */
  connected: [{ deviceId: string | undefined; url: string; attempt: number }];
  /** The tunnel closed; `retryInMs` is null when the agent is stopping rather than reconnecting. */
  disconnected: [{ code: number; reason: string; by: 'agent' | 'cloud'; upMs: number; retryInMs: number | null }];
  /** The attempt failed before the tunnel was up (network error, or an HTTP answer instead of the upgrade). */
  refused: [{ status: number | null; reason: string; authFailure: boolean; retryInMs: number | null }];
  /** The cloud's settings and heartbeat timing. */
  config: [{ pingIntervalSeconds: number | undefined; pingTimeoutSeconds: number | undefined }];
  /** A claim code for this (unclaimed) device; it is also written to the state directory. */
  claim_code: [{ code: string; expiresAt: number }];
  /** A fresh device token arrived (the token itself is only in memory and the state directory). */
  device_token: [{ expiresAt: number }];
  /** The device has been claimed. */
  claimed: [{ ownerId: string | undefined }];
  /** The cloud will accept no more from this connection. */
  goaway: [{ code: number; reason: string }];
  /** One proxied request finished (or failed). */
  request: [RequestRecord];
  /** A connection-level protocol error or a dead heartbeat, just before this side closes. */
  protocol_error: [{ code: number; message: string }];
  /** Something worth a warning that is not a connection change (a failed certificate renewal, an unwritable file). */
  warning: [{ message: string }];
  /** A certificate renewal succeeded. */
  renewed: [{ notAfter: string }];
  /** Shutdown started: no new streams, waiting for the in-flight ones. */
  draining: [{ streams: number; deadlineMs: number }];
  /** The agent stopped: asked to, or (with exitOnAuthFailure) because its credential was refused. */
  stopped: [{ reason: 'stopped' | 'auth_failed' | 'replaced' }];
};

/** The name of an event. */
export type TunnelAgentEventName = keyof TunnelAgentEvents;
