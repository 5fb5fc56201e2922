/**
 * Helpers for the tunnel's integration tests: a device enrolled through the real EST endpoint, and a test agent that
 * opens `GET /devices/connect` through the Worker and speaks the real protocol with lib/tunnel (the agent side of the
 * stream table), answering proxied requests with a handler.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { env, exports } from 'cloudflare:workers';
import { buildCsr, generateDeviceKey } from '../agent/csr.ts';
import { createDeviceJwt, x5cFor } from '../agent/device-jwt.ts';
import { encodePem } from '../lib/pki/pem.ts';
import { base64Body, parseCertsOnlyPkcs7 } from '../lib/pki/pkcs7.ts';
import {
  TUNNEL_SUBPROTOCOL,
  chunkBody,
  createStreamTable,
  createBatcher,
  decodeFrame,
  splitMessage,
  encodeControl,
  encodeFrame,
  type ControlMessage,
  type DecodedFrame,
  type Frame,
  type RequestHead,
  type ResponseHead,
  type Settings,
  type StreamFrame,
} from '../lib/tunnel/index.ts';
import { issueDeviceAccessToken } from '../workers/gateway/device-access.ts';

/** Where integration tests send requests. */
export const BASE = 'http://gatehouse.test';
const admin = { Authorization: `PROV-ADMIN ${env.PROV_ADMIN_API_KEY}`, 'CF-Connecting-IP': '192.0.2.60' };
const text = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

/** An enrolled device: its id, key pair and certificate chain. */
export type TestDevice = { deviceId: string; keys: CryptoKeyPair; certPem: string; chainPem: string };

/** Enrols a fresh (unclaimed) device through the admin OTP and EST simpleenroll, as the agent does. */
export async function enrolDevice(): Promise<TestDevice> {
  const { otp } = (await (await exports.default.fetch(`${BASE}/admin/api/otp`, { method: 'POST', headers: admin })).json()) as { otp: string };
  const keys = await generateDeviceKey();
  const res = await exports.default.fetch(`${BASE}/.well-known/est/simpleenroll`, { method: 'POST', headers: { Authorization: `Bearer ${otp}` }, body: base64Body(await buildCsr(keys, { serial: 'SN-TUNNEL' })) });
  if (res.status !== 200) throw new Error(`enrolment failed: ${res.status}`);
  const [der] = parseCertsOnlyPkcs7(await text(res));
  const cert = new x509.X509Certificate(der ?? new Uint8Array());
  const chain = parseCertsOnlyPkcs7(await text(await exports.default.fetch(`${BASE}/.well-known/est/cacerts`)));
  return { deviceId: cert.subjectName.getField('CN')[0] ?? '', keys, certPem: cert.toString('pem'), chainPem: chain.map((c) => encodePem(c, 'CERTIFICATE')).join('') };
}

/** Revokes all of a device's certificates through the admin API. */
export async function revokeDevice(deviceId: string): Promise<void> {
  const res = await exports.default.fetch(`${BASE}/admin/api/devices/${deviceId}/revoke`, { method: 'POST', headers: { ...admin, 'Content-Type': 'application/json' }, body: '{"reason":"keyCompromise"}' });
  if (res.status !== 200) throw new Error(`revocation failed: ${res.status}`);
}

/** A device JWT for `GET /devices/connect`. */
export const connectJwt = (d: TestDevice, audience = `${env.PUBLIC_URL}/devices/connect`) =>
  createDeviceJwt({ privateKey: d.keys.privateKey, x5c: x5cFor(d.certPem, d.chainPem), deviceId: d.deviceId, audience });

/** Calls `GET /devices/connect` with the given headers (an upgrade offering the tunnel subprotocol unless overridden). */
export const connectRaw = (headers: Record<string, string>) =>
  exports.default.fetch(`${BASE}/devices/connect`, { headers: { Upgrade: 'websocket', 'Sec-WebSocket-Protocol': TUNNEL_SUBPROTOCOL, ...headers } });

/** A device-access token (the Authorizer's) for a role on a device. */
export const accessToken = async (deviceId: string, role: 'owner' | 'admin' | 'operator' | 'viewer' = 'operator') =>
  (await issueDeviceAccessToken(env, { userId: crypto.randomUUID(), deviceId, role })).token;

/** A proxied request as the agent saw it. */
export type SeenRequest = { head: RequestHead; body: Uint8Array };

/** What the test agent answers: a head and a body (sent in chunks under flow control), or nothing (the test answers by hand). */
export type Answer = { status: number; headers?: [string, string][]; body?: Uint8Array } | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A connected test agent. */
export type TestAgent = Awaited<ReturnType<typeof connectAgent>>;

/** Connects a device's agent through the Worker; `answer` serves proxied requests once their body has arrived. */
export async function connectAgent(device: TestDevice, opts: { answer?: (req: SeenRequest) => Answer | Promise<Answer>; hello?: boolean; settings?: Settings } = {}) {
  const res = await connectRaw({ Authorization: `Bearer ${await connectJwt(device)}` });
  const ws = res.webSocket;
  if (res.status !== 101 || !ws) throw new Error(`connect failed: ${res.status} ${await res.text()}`);
  ws.binaryType = 'arraybuffer';
  ws.accept();
  // Without settings it speaks plain version 1 (one frame per message), as an agent from before batches did.
  const table = createStreamTable({ side: 'agent', settings: { batchFrames: false, ...opts.settings } });
  const frames: DecodedFrame[] = [];
  const texts: string[] = [];
  const bodies = new Map<number, Uint8Array[]>();
  const credit = new Map<number, () => void>();
  /** How many frames each binary message from the cloud held, in order. */
  const messageSizes: number[] = [];
  let closed: { code: number; reason: string } | undefined;
  // With `settings.batchFrames`, the frames this agent writes in one turn share a message once the cloud accepts batches.
  const batcher = createBatcher({ write: (m) => (ws.send(m), true), schedule: (flush) => queueMicrotask(flush) });
  const send = (frame: Frame) => {
    if (frame.type !== 'control' && frame.type !== 'ping' && frame.type !== 'pong' && frame.type !== 'goaway') {
      const checked = table.send(frame);
      if (!checked.ok || checked.ignore) return false;
    }
    return batcher.push(encodeFrame(frame));
  };
  /** Sends a response head, its body in DATA frames as the cloud's window allows, then END. */
  async function respond(streamId: number, head: ResponseHead, body: Uint8Array = new Uint8Array(0)): Promise<void> {
    send({ type: 'response', streamId, head });
    for (const chunk of chunkBody(body)) {
      let offset = 0;
      while (offset < chunk.byteLength) {
        const stream = table.get(streamId);
        if (!stream) return;
        const n = Math.min(stream.flow.sendCredit(), chunk.byteLength - offset);
        if (n === 0) {
          await new Promise<void>((r) => credit.set(streamId, r));
          continue;
        }
        send({ type: 'data', streamId, data: chunk.subarray(offset, offset + n) });
        offset += n;
      }
    }
    send({ type: 'end', streamId });
  }
  function onStream(frame: StreamFrame): void {
    const stream = table.get(frame.streamId);
    if (frame.type === 'window_update' || frame.type === 'reset') credit.get(frame.streamId)?.();
    if (frame.type === 'open') bodies.set(frame.streamId, []);
    if (frame.type === 'data' && stream && !stream.upgraded()) {
      bodies.get(frame.streamId)?.push(frame.data.slice());
      const increment = stream.flow.release(frame.data.byteLength);
      if (increment > 0) send({ type: 'window_update', streamId: frame.streamId, increment });
    }
    if (frame.type === 'end' && opts.answer && bodies.has(frame.streamId)) {
      const open = frames.find((f): f is Extract<DecodedFrame, { type: 'open' }> => f.type === 'open' && f.streamId === frame.streamId);
      const parts = bodies.get(frame.streamId) ?? [];
      const body = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
      parts.reduce((at, p) => (body.set(p, at), at + p.byteLength), 0);
      bodies.delete(frame.streamId);
      if (open) void Promise.resolve(opts.answer({ head: open.head, body })).then((a) => a && respond(frame.streamId, { status: a.status, headers: a.headers ?? [] }, a.body));
    }
  }
  ws.addEventListener('message', (event: MessageEvent) => {
    if (typeof event.data === 'string') {
      texts.push(event.data);
      return;
    }
    const parts = splitMessage(event.data as ArrayBuffer);
    if (parts.length > 1 && !table.settings.batchFrames) throw new Error('the cloud batched frames this agent did not accept');
    messageSizes.push(parts.length);
    for (const bytes of parts) {
      const decoded = decodeFrame(bytes);
      if (!decoded.ok) throw new Error(`the cloud sent a bad frame: ${decoded.error.message}`);
      const frame = decoded.frame;
      frames.push(frame);
      if (frame.type === 'control' && frame.message.type === 'config') {
        table.setPeerSettings(frame.message.settings ?? {});
        if (opts.settings?.batchFrames && table.peerBatches()) batcher.enable();
      }
      if (frame.type === 'open' || frame.type === 'data' || frame.type === 'end' || frame.type === 'reset' || frame.type === 'window_update' || frame.type === 'response') {
        const routed = table.receive(frame);
        if (routed.ok && !routed.ignore) onStream(frame);
      }
    }
  });
  ws.addEventListener('close', (event: CloseEvent) => {
    closed = { code: event.code, reason: event.reason };
  });
  if (opts.hello !== false) ws.send(encodeControl({ type: 'hello', agentVersion: '9.9.9-test', ...(opts.settings ? { settings: opts.settings } : {}) }));

  /** Waits for the first received frame matching `match` (already received ones count). */
  async function next<T extends DecodedFrame>(match: (f: DecodedFrame) => f is T, timeoutMs = 3000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = frames.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame within ${timeoutMs} ms; got ${frames.map((f) => f.type).join(',')}`);
      await sleep(5);
    }
  }
  const control = <T extends ControlMessage['type']>(type: T, timeoutMs?: number) =>
    next((f): f is Extract<DecodedFrame, { type: 'control' }> => f.type === 'control' && f.message.type === type, timeoutMs).then((f) => f.message as Extract<ControlMessage, { type: T }>);
  return {
    ws,
    table,
    frames,
    messageSizes,
    texts,
    send,
    respond,
    next,
    control,
    /** The close the cloud sent, once it did. */
    closed: () => closed,
    /** Waits until the cloud closed the socket. */
    async waitClosed(timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (!closed && Date.now() < deadline) await sleep(5);
      return closed;
    },
    close: (code = 1000, reason = 'bye') => ws.close(code, reason),
  };
}

/** Polls `probe` until it returns a truthy value or the time runs out. */
export async function eventually<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
