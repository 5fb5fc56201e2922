/** Test helpers for the tunnel codec: hand-built frames, including ones no encoder would produce. */
import { utf8 } from '../encoding.ts';
import type { RequestHead } from './control.ts';
import { ErrorCode, type Frame, HEADER_SIZE, MAX_DATA_PAYLOAD, PROTOCOL_VERSION } from './frame.ts';

/** The parts of a hand-built frame; `length` defaults to the payload's true length. */
export interface RawFrame {
  readonly version?: number;
  readonly type: number;
  readonly flags?: number;
  readonly reserved?: number;
  readonly streamId?: number;
  readonly length?: number;
  readonly payload?: Uint8Array | string;
}

/** Builds a frame byte by byte, so tests can lie in any header field. */
export function rawFrame(parts: RawFrame): Uint8Array<ArrayBuffer> {
  const payload = typeof parts.payload === 'string' ? utf8(parts.payload) : (parts.payload ?? new Uint8Array(0));
  const out = new Uint8Array(HEADER_SIZE + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, parts.version ?? PROTOCOL_VERSION);
  view.setUint8(1, parts.type);
  view.setUint8(2, parts.flags ?? 0);
  view.setUint8(3, parts.reserved ?? 0);
  view.setUint32(4, parts.streamId ?? 0);
  view.setUint32(8, parts.length ?? payload.byteLength);
  out.set(payload, HEADER_SIZE);
  return out;
}

/** A payload of `n` bytes, each its index modulo 251 (a prime, so chunk boundaries never line up with the pattern). */
export const pattern = (n: number): Uint8Array => new Uint8Array(n).map((_, i) => i % 251);

/** A small seeded PRNG (mulberry32), so a failing fuzz case can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A request head with a query and a repeated header. */
export const head: RequestHead = {
  method: 'POST',
  path: '/api/items?limit=10&q=a%20b',
  headers: [
    ['content-type', 'application/json'],
    ['set-cookie', 'a=1'],
    ['set-cookie', 'b=2'],
  ],
};

/** One or more valid frames of every type, the corpus for round-trip and fuzz tests. */
export const sampleFrames: Frame[] = [
  { type: 'open', streamId: 1, head },
  { type: 'open', streamId: 3, head: { method: 'GET', path: '/ws', headers: [], websocket: true } },
  { type: 'response', streamId: 1, head: { status: 201, headers: [['x-note', 'ünïcode ✓ "quoted"']] } },
  { type: 'response', streamId: 2, head: { status: 404, headers: [['content-length', '0']] } },
  { type: 'data', streamId: 1, data: pattern(1000) },
  { type: 'data', streamId: 7, data: new Uint8Array(0) },
  { type: 'data', streamId: 9, data: pattern(MAX_DATA_PAYLOAD) },
  { type: 'data', streamId: 5, data: utf8('héllo'), text: true, more: true },
  { type: 'end', streamId: 1 },
  { type: 'end', streamId: 5, close: { code: 1001, reason: 'going away' } },
  { type: 'end', streamId: 5, close: { code: 4000, reason: '' } },
  { type: 'reset', streamId: 1, code: ErrorCode.CANCEL },
  { type: 'reset', streamId: 0xffff_ffff, code: ErrorCode.UPSTREAM_UNREACHABLE, reason: 'connect ECONNREFUSED 127.0.0.1:8080' },
  { type: 'window_update', streamId: 4, increment: 0x7fff_ffff },
  { type: 'ping', data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
  { type: 'pong', data: new Uint8Array(8).fill(0xff) },
  { type: 'goaway', lastStreamId: 41, code: ErrorCode.NO_ERROR },
  { type: 'goaway', lastStreamId: 0, code: ErrorCode.PROTOCOL_ERROR, reason: 'bad frame' },
  { type: 'control', message: { type: 'hello', agentVersion: '1.2.3', settings: { maxConcurrentStreams: 32, initialWindow: 1 << 20 } } },
  { type: 'control', message: { type: 'config', pingIntervalSeconds: 15, pingTimeoutSeconds: 10 } },
  { type: 'control', message: { type: 'claim_code', code: 'K7QF-93MZ-X2', expiresAt: 1_767_225_600 } },
  { type: 'control', message: { type: 'device_token', token: 'eyJhbGciOiJFUzI1NiJ9.e30.sig', expiresAt: 1_767_225_600 } },
  { type: 'control', message: { type: 'claimed', ownerId: 'usr_123' } },
  { type: 'control', message: { type: 'claimed' } },
];
