/**
 * The tunnel agent: keeps one WebSocket to the device's Durable Object open forever. Each attempt carries a fresh
 * credential; a failed or lost connection is retried after a full-jitter exponential backoff that resets once a
 * connection has stayed up; `stop()` drains in-flight streams (GOAWAY, deadline, close 1000). Used by
 * `gatehouse-agent connect` and, in-process, by tests.
 */
import { EventEmitter } from 'node:events';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { WebSocket } from 'ws';
import { CloseCode, MAX_BATCH_BYTES, TUNNEL_SUBPROTOCOL, type CloudControlMessage, type Settings } from '../../lib/tunnel/index.ts';
import { createBackoff, type BackoffOptions } from './backoff.ts';
import { removeClaimCode, writeClaimCode, writeDeviceToken, type StoredDeviceToken } from './device-files.ts';
import type { TunnelAgentEvents } from './events.ts';
import { parseForward, type ForwardTarget } from './forward.ts';
import { refusalOf } from './refusal.ts';
import { startSession, type Session, type SessionEnd } from './session.ts';
import { AGENT_VERSION } from './version.ts';

/** Options of `startTunnelAgent`. */
export interface TunnelAgentOptions {
  /** The Gatehouse base URL (http or https); the tunnel is `ws(s)://…/devices/connect`. */
  readonly url: string;
  /** The local service: `http://127.0.0.1:PORT` (a parsed target is accepted too). */
  readonly forward: string | ForwardTarget;
  /** A fresh bearer credential (a device JWT) for each attempt; without one, the client certificate must authenticate. */
  readonly credential?: () => Promise<string>;
  /**
   * A TLS client certificate for Cloudflare mTLS (docs/tunnel-protocol.md §15), read again for each attempt: the
   * certificate chain and key (PEM), and optionally the CAs to trust for the server (default: Node's).
   */
  readonly clientCertificate?: () => { cert: string; key: string; ca?: string };
  /** The device id, for logs. */
  readonly deviceId?: string;
  /** Where `claim_code` and `device_token` are written; nothing is written without it. */
  readonly stateDir?: string;
  readonly agentVersion?: string;
  /** What the agent accepts (max concurrent streams, receive window), announced in `hello`. */
  readonly settings?: Settings;
  /** Heartbeat timing until the cloud's `config` says otherwise (15 s and 10 s). */
  readonly pingIntervalMs?: number;
  readonly pingTimeoutMs?: number;
  /** Reconnect backoff (base 1 s, cap 60 s); `stableMs` (default 30 s) is how long a connection must last to reset it. */
  readonly backoff?: BackoffOptions & { readonly stableMs?: number };
  /** How long `stop()` lets in-flight streams finish (default 10 s). */
  readonly shutdownDeadlineMs?: number;
  /** Stop instead of retrying when the server refuses the credential (401/403). */
  readonly exitOnAuthFailure?: boolean;
  /** Stop instead of retrying when another connection of this device replaced this one (close 4000). */
  readonly exitOnReplaced?: boolean;
  /** The tunnel socket's send-queue high-water mark in bytes (default 1 MiB). */
  readonly highWater?: number;
  /** Longest WebSocket handshake, in ms (default 15 s). */
  readonly handshakeTimeoutMs?: number;
}

/** Why the agent stopped. */
export type StopReason = TunnelAgentEvents['stopped'][0]['reason'];

/** A running agent. */
export interface TunnelAgent {
  readonly events: EventEmitter<TunnelAgentEvents>;
  /** Resolves when the agent has stopped, with the reason. */
  readonly done: Promise<StopReason>;
  /** Drains and stops; `deadlineMs` overrides the shutdown deadline (0 resets in-flight streams at once). */
  stop(opts?: { deadlineMs?: number }): Promise<StopReason>;
  /** True while the tunnel is up. */
  connected(): boolean;
  /** The latest device token, if one arrived and has not expired. */
  deviceToken(): StoredDeviceToken | undefined;
}

type Attempt = { kind: 'closed'; end: SessionEnd; upMs: number } | { kind: 'refused'; status: number | null; reason: string; authFailure: boolean };

/** The `ws(s)://…/devices/connect` URL for a Gatehouse base URL. */
export const connectUrl = (base: string): string => `${base.replace(/\/+$/, '').replace(/^http/, 'ws')}/devices/connect`;

/**
 * Whether the agent's frames may go unmasked (an all-zero RFC 6455 mask, which `ws` then skips applying). Masking
 * exists so that a script in a browser cannot make a WebSocket's bytes look like HTTP to a transparent proxy on the
 * path (RFC 6455 §10.3). Over TLS no intermediary parses the bytes, and on loopback there is none, so there the mask
 * only costs a pass and a copy of every byte the device uploads. Anywhere else (plain ws:// to a remote host) the
 * agent masks as usual.
 */
export function maskingIsMoot(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'wss:' || hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

const zeroMask = (mask: Uint8Array) => mask.fill(0);

/** Starts the agent; it connects at once and keeps reconnecting until `stop()`. */
export function startTunnelAgent(opts: TunnelAgentOptions): TunnelAgent {
  const events = new EventEmitter<TunnelAgentEvents>();
  const target = typeof opts.forward === 'string' ? parseForward(opts.forward) : opts.forward;
  const httpAgent = target.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const backoff = createBackoff(opts.backoff);
  const stableMs = opts.backoff?.stableMs ?? 30_000;
  const url = connectUrl(opts.url);
  const unmasked = maskingIsMoot(url);
  const pause = new AbortController();
  let stopping = false;
  let shutdownDeadline = opts.shutdownDeadlineMs ?? 10_000;
  let socket: WebSocket | undefined;
  let session: Session | undefined;
  let token: StoredDeviceToken | undefined;

  // Files are a convenience for other commands: failing to write one is a warning, never a reason to drop the tunnel.
  const saveFile = (what: string, write: (dir: string) => void) => {
    if (!opts.stateDir) return;
    try {
      write(opts.stateDir);
    } catch (err) {
      events.emit('warning', { message: `cannot write ${what} in ${opts.stateDir}: ${err instanceof Error ? err.message : String(err)}` });
    }
  };

  function onControl(message: CloudControlMessage): void {
    switch (message.type) {
      case 'config':
        return void events.emit('config', { pingIntervalSeconds: message.pingIntervalSeconds, pingTimeoutSeconds: message.pingTimeoutSeconds });
      case 'claim_code':
        saveFile('claim_code', (dir) => writeClaimCode(dir, message.code, message.expiresAt));
        return void events.emit('claim_code', { code: message.code, expiresAt: message.expiresAt });
      case 'device_token':
        token = { token: message.token, expiresAt: message.expiresAt };
        saveFile('device_token', (dir) => writeDeviceToken(dir, { token: message.token, expiresAt: message.expiresAt }));
        return void events.emit('device_token', { expiresAt: message.expiresAt });
      case 'claimed':
        saveFile('claim_code', (dir) => removeClaimCode(dir));
        return void events.emit('claimed', { ownerId: message.ownerId });
    }
  }

  function attempt(n: number, credential: string | undefined): Promise<Attempt> {
    const tls = opts.clientCertificate?.();
    const ws = new WebSocket(url, [TUNNEL_SUBPROTOCOL], {
      headers: credential === undefined ? {} : { Authorization: `Bearer ${credential}` },
      ...(tls ? { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}) } : {}),
      maxPayload: MAX_BATCH_BYTES,
      perMessageDeflate: false,
      followRedirects: false,
      handshakeTimeout: opts.handshakeTimeoutMs ?? 15_000,
      ...(unmasked ? { generateMask: zeroMask } : {}),
    });
    socket = ws;
    return new Promise((resolve) => {
      let settled = false;
      const refuse = (status: number | null, reason: string, authFailure = false) => {
        if (settled) return;
        settled = true;
        resolve({ kind: 'refused', status, reason, authFailure });
      };
      ws.on('unexpected-response', (req, res) => {
        // The refusal's connection may stay open (an upgrade answered with a keep-alive response); it must not
        // outlive the attempt, or a stopping agent would wait for the server to hang up before the process can exit.
        const socket = res.socket;
        void refusalOf(res).then((r) => {
          req.destroy();
          socket?.destroy();
          refuse(r.status, r.reason, r.authFailure);
        });
      });
      ws.on('error', (err: NodeJS.ErrnoException) => refuse(null, err.code ?? err.message));
      ws.on('open', () => {
        settled = true;
        const openedAt = performance.now();
        session = startSession(ws, {
          target,
          httpAgent,
          agentVersion: opts.agentVersion ?? AGENT_VERSION,
          settings: opts.settings,
          pingIntervalMs: opts.pingIntervalMs ?? 15_000,
          pingTimeoutMs: opts.pingTimeoutMs ?? 10_000,
          highWater: opts.highWater,
          onControl,
          onRequest: (record) => events.emit('request', record),
          onGoaway: (frame) => events.emit('goaway', { code: frame.code, reason: frame.reason ?? '' }),
          onConnectionError: (error) => events.emit('protocol_error', { code: error.code, message: error.message }),
        });
        events.emit('connected', { deviceId: opts.deviceId, url, attempt: n });
        void session.closed.then((end) => {
          session = undefined;
          resolve({ kind: 'closed', end, upMs: performance.now() - openedAt });
        });
      });
    });
  }

  async function run(): Promise<StopReason> {
    for (let n = 1; !stopping; n++) {
      events.emit('connecting', { attempt: n, url });
      let result: Attempt;
      try {
        const credential = await opts.credential?.();
        if (stopping) return 'stopped';
        result = await attempt(n, credential);
      } catch (err) {
        result = { kind: 'refused', status: null, reason: `cannot connect: ${err instanceof Error ? err.message : String(err)}`, authFailure: false };
      }
      socket = undefined;
      const replaced = result.kind === 'closed' && result.end.code === CloseCode.REPLACED;
      const giveUp = stopping || (result.kind === 'refused' && result.authFailure && opts.exitOnAuthFailure === true) || (replaced && opts.exitOnReplaced === true);
      if (result.kind === 'closed' && result.upMs >= stableMs) backoff.reset();
      const retryInMs = giveUp ? null : replaced ? backoff.replaced() : backoff.next();
      if (result.kind === 'closed') events.emit('disconnected', { ...result.end, upMs: Math.round(result.upMs), retryInMs });
      else events.emit('refused', { status: result.status, reason: result.reason, authFailure: result.authFailure, retryInMs });
      if (stopping) return 'stopped';
      if (retryInMs === null) return replaced ? 'replaced' : 'auth_failed';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryInMs);
        pause.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
    return 'stopped';
  }

  // Started on the next tick, so that listeners attached right after this call hear the first `connecting`.
  const done = Promise.resolve().then(run).then((reason) => {
    httpAgent.destroy();
    events.emit('stopped', { reason });
    return reason;
  });

  return {
    events,
    done,
    async stop(stopOpts = {}) {
      stopping = true;
      shutdownDeadline = stopOpts.deadlineMs ?? shutdownDeadline;
      pause.abort();
      if (session) {
        events.emit('draining', { streams: session.active(), deadlineMs: shutdownDeadline });
        await session.shutdown(shutdownDeadline);
      } else socket?.terminate();
      return done;
    },
    connected: () => session !== undefined,
    deviceToken: () => (token && token.expiresAt * 1000 > Date.now() ? token : undefined),
  };
}
