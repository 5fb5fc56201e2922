import { describe, expect, it } from 'vitest';
import { concatBytes, utf8 } from '../encoding.ts';
import { controlMessageSchema, requestHeadSchema, responseHeadSchema } from './control.ts';
import { splitMessage } from './batch.ts';
import { decodeFrame } from './decode.ts';
import { encodeFrame } from './encode.ts';
import { type DecodeResult, ErrorCode, HEADER_SIZE, MAX_WINDOW, PROTOCOL_VERSION, isKnownErrorCode, isStreamId } from './frame.ts';
import { prng, sampleFrames } from './tunnel.test-fixture.ts';

const SEED = 0x6a7e_4005;
const isU32 = (n: unknown): boolean => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);

/** What is wrong with a decode result, or undefined when it is well formed. */
function problem(result: DecodeResult): string | undefined {
  if (!result.ok) {
    const { error } = result;
    if (Object.keys(error).some((k) => !['code', 'message', 'streamId'].includes(k))) return 'error has extra keys';
    if (!isKnownErrorCode(error.code) || error.code === ErrorCode.INTERNAL) return `error code ${error.code}`;
    if (typeof error.message !== 'string' || error.message.length === 0) return 'empty message';
    if (error.streamId !== undefined && !isStreamId(error.streamId)) return `error stream id ${error.streamId}`;
    return undefined;
  }
  const { frame } = result;
  switch (frame.type) {
    case 'skip':
      return isU32(frame.streamId) && frame.wireType >= 0 && frame.wireType <= 255 ? undefined : 'bad skip';
    case 'open':
      if (!isStreamId(frame.streamId) || !requestHeadSchema.safeParse(frame.head).success) return 'bad OPEN';
      break;
    case 'response':
      if (!isStreamId(frame.streamId) || !responseHeadSchema.safeParse(frame.head).success) return 'bad RESPONSE';
      break;
    case 'data':
      if (!isStreamId(frame.streamId) || !(frame.data instanceof Uint8Array)) return 'bad DATA';
      break;
    case 'end':
      if (!isStreamId(frame.streamId) || (frame.close && (frame.close.code < 1000 || frame.close.code > 4999))) return 'bad END';
      break;
    case 'reset':
      if (!isStreamId(frame.streamId) || !isU32(frame.code)) return 'bad RESET';
      break;
    case 'window_update':
      if (!isStreamId(frame.streamId) || frame.increment < 1 || frame.increment > MAX_WINDOW) return 'bad WINDOW_UPDATE';
      break;
    case 'ping':
    case 'pong':
      if (frame.data.byteLength !== 8) return 'bad PING/PONG';
      break;
    case 'goaway':
      if (!isU32(frame.lastStreamId) || !isU32(frame.code)) return 'bad GOAWAY';
      break;
    case 'control':
      if (!controlMessageSchema.safeParse(frame.message).success) return 'bad CONTROL';
      break;
    default:
      return `unknown frame type ${JSON.stringify(frame)}`;
  }
  // Whatever the decoder accepts, the encoder can write again, and that encoding is a fixed point.
  try {
    const once = encodeFrame(frame);
    const again = decodeFrame(once);
    if (!again.ok || again.frame.type === 'skip') return 'accepted frame does not survive re-encoding';
    return sameBytes(once, encodeFrame(again.frame)) ? undefined : 're-encoding is not stable';
  } catch (e) {
    return `encoder refused a decoded frame: ${String(e)}`;
  }
}

describe('tunnel decoder fuzz', () => {
  it('never throws and always returns a well-formed result on 20,000 hostile inputs', () => {
    const random = prng(SEED);
    const int = (n: number): number => Math.floor(random() * n);
    const bytes = (n: number): Uint8Array => new Uint8Array(n).map(() => int(256));
    const corpus = sampleFrames.map((f) => encodeFrame(f)).filter((b) => b.byteLength < 4096);
    const jsonish = ['{}', '[]', 'null', '{"type":"hello","agentVersion":"1"}', '{"method":"GET","path":"/","headers":[]}', '{"status":200,"headers":[["a","b"]]}'];

    const inputs: Uint8Array[] = [];
    // 1. Pure noise.
    for (let i = 0; i < 7000; i++) inputs.push(bytes(int(201)));
    // 2. A plausible header (right version, mostly right length) over noise or near-JSON, to get past the first checks.
    for (let i = 0; i < 6000; i++) {
      const payload = random() < 0.5 ? bytes(int(120)) : utf8(jsonish[int(jsonish.length)]!.slice(0, int(60)));
      const frame = new Uint8Array(HEADER_SIZE + payload.byteLength);
      const view = new DataView(frame.buffer);
      view.setUint8(0, random() < 0.95 ? PROTOCOL_VERSION : int(256));
      view.setUint8(1, random() < 0.8 ? int(13) : int(256));
      view.setUint8(2, [0, 0x80, int(256)][int(3)]!);
      view.setUint32(4, [0, 1, 2, int(2 ** 32)][int(4)]!);
      view.setUint32(8, random() < 0.9 ? payload.byteLength : int(2 ** 32));
      frame.set(payload, HEADER_SIZE);
      inputs.push(frame);
    }
    // 3. Mutations of valid frames: bit flips, truncations, extensions (with and without a fixed-up length).
    for (let i = 0; i < 7000; i++) {
      const base = corpus[int(corpus.length)]!;
      let m: Uint8Array = base.slice();
      switch (int(4)) {
        case 0:
          for (let k = 0, n = 1 + int(4); k < n; k++) {
            const at = int(m.byteLength);
            m[at] = (m[at] ?? 0) ^ (1 << int(8));
          }
          break;
        case 1:
          m = m.slice(0, int(m.byteLength));
          break;
        case 2:
        case 3: {
          const extra = bytes(1 + int(40));
          const grown = new Uint8Array(m.byteLength + extra.byteLength);
          grown.set(m);
          grown.set(extra, m.byteLength);
          if (int(2) === 0) new DataView(grown.buffer).setUint32(8, grown.byteLength - HEADER_SIZE);
          m = grown;
        }
      }
      inputs.push(m);
    }
    expect(inputs).toHaveLength(20_000);

    const failures: string[] = [];
    const seen = { ok: 0, error: 0, skip: 0 };
    for (const [i, input] of inputs.entries()) {
      let result: DecodeResult;
      try {
        result = decodeFrame(input);
      } catch (e) {
        failures.push(`#${i} threw ${String(e)}`);
        continue;
      }
      const why = problem(result);
      if (why) failures.push(`#${i} ${why}: ${Array.from(input.subarray(0, 32), (b) => b.toString(16).padStart(2, '0')).join('')}`);
      if (!result.ok) seen.error++;
      else if (result.frame.type === 'skip') seen.skip++;
      else seen.ok++;
    }
    expect(failures.slice(0, 5), `seed ${SEED}`).toEqual([]);
    // The generators must reach every outcome, or the test proves less than it claims.
    expect(seen.ok).toBeGreaterThan(500);
    expect(seen.skip).toBeGreaterThan(100);
    expect(seen.error).toBeGreaterThan(10_000);
  });

  it('splits 5,000 batched messages, whole or damaged, into views that tile them and decode without throwing', () => {
    const random = prng(SEED + 1);
    const int = (n: number): number => Math.floor(random() * n);
    const corpus = sampleFrames.map((f) => encodeFrame(f)).filter((b) => b.byteLength < 4096);
    const failures: string[] = [];
    let wholeSplitExactly = 0;
    for (let i = 0; i < 5000; i++) {
      const parts = Array.from({ length: 1 + int(4) }, () => corpus[int(corpus.length)]!);
      let message = concatBytes(...parts);
      const damaged = random() < 0.5;
      if (damaged) {
        if (int(2) === 0) message = message.slice(0, int(message.byteLength));
        else {
          for (let k = 0; k < 1 + int(3); k++) {
            const at = int(message.byteLength);
            message[at] = (message[at] ?? 0) ^ (1 << int(8));
          }
        }
      }
      let frames: Uint8Array[];
      try {
        frames = splitMessage(message);
      } catch (e) {
        failures.push(`#${i} split threw ${String(e)}`);
        continue;
      }
      if (!sameBytes(concatBytes(...frames), message)) failures.push(`#${i} the frames do not tile the message`);
      if (!damaged) {
        if (frames.length === parts.length && frames.every((f, k) => sameBytes(f, parts[k]!))) wholeSplitExactly++;
        else failures.push(`#${i} a whole batch of ${parts.length} split into ${frames.length}`);
      }
      for (const frame of frames) {
        try {
          const why = problem(decodeFrame(frame));
          if (why) failures.push(`#${i} ${why}`);
        } catch (e) {
          failures.push(`#${i} decode threw ${String(e)}`);
        }
      }
    }
    expect(failures.slice(0, 5), `seed ${SEED + 1}`).toEqual([]);
    expect(wholeSplitExactly).toBeGreaterThan(2000);
  });
});
