import { describe, expect, it } from 'vitest';
import { decodeFrame } from './decode.ts';
import { chunkBody, encodeFrame } from './encode.ts';
import { ErrorCode, type Frame, FrameType, type StreamFrame } from './frame.ts';
import { createStreamTable, type StreamTable } from './streams.ts';
import { pattern, rawFrame } from './tunnel.test-fixture.ts';

const get = { method: 'GET', path: '/', headers: [] as [string, string][] };
const openFrame = (streamId: number) => ({ type: 'open' as const, streamId, head: get });
const connectionError = (code: number) => ({ ok: false, error: { code, message: expect.any(String) } });

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

function opened(table: StreamTable) {
  const result = table.open(get);
  if (!result.ok) throw new Error(result.message);
  return result;
}

describe('tunnel stream table', () => {
  it('gives the cloud odd stream ids and the agent even ones, never reused', () => {
    const cloud = createStreamTable({ side: 'cloud' });
    const agent = createStreamTable({ side: 'agent' });
    expect([1, 2, 3].map(() => opened(cloud).stream.id)).toEqual([1, 3, 5]);
    expect([1, 2, 3].map(() => opened(agent).stream.id)).toEqual([2, 4, 6]);
    const first = opened(cloud);
    expect(first.frame).toEqual({ type: 'open', streamId: 7, head: get });
    expect(first.stream.state()).toBe('open');
  });

  it('does not spend an id on a head that fails validation', () => {
    const cloud = createStreamTable({ side: 'cloud' });
    expect(cloud.open({ ...get, path: 'relative' })).toEqual({ ok: false, refused: 'invalid_head', message: expect.stringMatching(/path/) });
    expect(opened(cloud).stream.id).toBe(1);
  });

  it('accepts peer streams of the right parity in increasing order only', () => {
    const cloud = createStreamTable({ side: 'cloud' });
    expect(cloud.receive(openFrame(1))).toEqual(connectionError(ErrorCode.PROTOCOL_ERROR));
    const accepted = cloud.receive(openFrame(4));
    expect(accepted).toMatchObject({ ok: true, ignore: false, stream: { id: 4, role: 'responder' } });
    expect(cloud.receive(openFrame(4))).toEqual(connectionError(ErrorCode.PROTOCOL_ERROR));
    expect(cloud.receive(openFrame(2))).toEqual(connectionError(ErrorCode.PROTOCOL_ERROR));
    expect(cloud.receive(openFrame(6)).ok).toBe(true);
  });

  it('refuses peer streams over its limit with REFUSED_STREAM and drops their stragglers', () => {
    const agent = createStreamTable({ side: 'agent', settings: { maxConcurrentStreams: 2 } });
    expect(agent.receive(openFrame(1)).ok && agent.receive(openFrame(3)).ok).toBe(true);
    const refused = agent.receive(openFrame(5));
    expect(refused).toEqual({ ok: false, error: { code: ErrorCode.REFUSED_STREAM, message: expect.any(String), streamId: 5 } });
    if (refused.ok) return;
    expect(agent.fail(refused.error)).toEqual({ type: 'reset', streamId: 5, code: ErrorCode.REFUSED_STREAM, reason: refused.error.message });
    expect(agent.send({ type: 'reset', streamId: 5, code: ErrorCode.REFUSED_STREAM })).toEqual({ ok: true, ignore: false });
    expect(agent.receive({ type: 'data', streamId: 5, data: new Uint8Array(1) })).toEqual({ ok: true, stream: undefined, ignore: true });
    expect(agent.active()).toBe(2);
  });

  it("respects the peer's concurrent stream limit and frees slots as streams close", () => {
    const cloud = createStreamTable({ side: 'cloud' });
    cloud.setPeerSettings({ maxConcurrentStreams: 1 });
    const { stream } = opened(cloud);
    expect(cloud.open(get)).toEqual({ ok: false, refused: 'limit', message: expect.any(String) });
    cloud.send({ type: 'end', streamId: stream.id });
    cloud.receive({ type: 'response', streamId: stream.id, head: { status: 204, headers: [] } });
    expect(cloud.receive({ type: 'end', streamId: stream.id })).toMatchObject({ ok: true, ignore: false });
    expect(cloud.active()).toBe(0);
    expect(cloud.get(stream.id)).toBeUndefined();
    expect(opened(cloud).stream.id).toBe(3);
  });

  it('uses the announced windows: the peer sets send credit, this side its receive window', () => {
    const cloud = createStreamTable({ side: 'cloud', settings: { initialWindow: 1 << 20 } });
    cloud.setPeerSettings({ initialWindow: 128 * 1024 });
    const { stream } = opened(cloud);
    expect(stream.flow.sendCredit()).toBe(128 * 1024);
    expect(stream.flow.receiveWindow()).toBe(1 << 20);
    expect(cloud.settings).toEqual({ maxConcurrentStreams: 64, initialWindow: 1 << 20, batchFrames: true });
  });

  it('treats frames on never-opened streams as connection errors and on forgotten ones as stragglers', () => {
    const cloud = createStreamTable({ side: 'cloud' });
    expect(cloud.receive({ type: 'data', streamId: 8, data: new Uint8Array(1) })).toEqual(connectionError(ErrorCode.PROTOCOL_ERROR));
    expect(cloud.receive({ type: 'response', streamId: 1, head: { status: 200, headers: [] } })).toEqual(connectionError(ErrorCode.PROTOCOL_ERROR));
    const { stream } = opened(cloud);
    const reset = cloud.fail({ code: ErrorCode.CANCEL, message: 'client went away', streamId: stream.id });
    expect(reset).toMatchObject({ type: 'reset', streamId: 1, code: ErrorCode.CANCEL });
    expect(cloud.active()).toBe(0);
    expect(cloud.receive({ type: 'data', streamId: 1, data: new Uint8Array(1) })).toEqual({ ok: true, stream: undefined, ignore: true });
    expect(cloud.send({ type: 'data', streamId: 1, data: new Uint8Array(1) })).toMatchObject({ ok: false, error: { code: ErrorCode.STREAM_CLOSED } });
  });

  it('turns a decoder stream error on an OPEN into a RESET and consumes the id', () => {
    const agent = createStreamTable({ side: 'agent' });
    const bad = decodeFrame(rawFrame({ type: FrameType.OPEN, streamId: 9, payload: '{"method":"GET","path":"x","headers":[]}' }));
    if (bad.ok) throw new Error('expected a decode error');
    expect(agent.fail(bad.error)).toMatchObject({ type: 'reset', streamId: 9, code: ErrorCode.PROTOCOL_ERROR });
    expect(agent.receive({ type: 'data', streamId: 9, data: new Uint8Array(1) })).toMatchObject({ ok: true, ignore: true });
    expect(agent.receive(openFrame(9))).toEqual(connectionError(ErrorCode.PROTOCOL_ERROR));
    expect(agent.fail({ code: ErrorCode.PROTOCOL_ERROR, message: 'bad header' })).toBeUndefined();
  });

  it('handles GOAWAY in both directions', () => {
    const agent = createStreamTable({ side: 'agent' });
    agent.receive(openFrame(1));
    agent.receive(openFrame(3));
    expect(agent.goaway()).toBe(3);
    expect(agent.receive(openFrame(5))).toMatchObject({ ok: false, error: { code: ErrorCode.REFUSED_STREAM, streamId: 5 } });
    expect(agent.open(get)).toMatchObject({ ok: false, refused: 'going_away' });

    const cloud = createStreamTable({ side: 'cloud' });
    const ids = [opened(cloud), opened(cloud), opened(cloud)].map((o) => o.stream.id);
    expect(ids).toEqual([1, 3, 5]);
    expect(cloud.receiveGoaway(1).map((s) => s.id)).toEqual([3, 5]);
    expect(cloud.all().map((s) => s.id)).toEqual([1]);
    expect(cloud.open(get)).toMatchObject({ ok: false, refused: 'going_away' });
  });

  it('moves a large body each way between a cloud and an agent table over encoded frames, within the windows', () => {
    const cloud = createStreamTable({ side: 'cloud' });
    const agent = createStreamTable({ side: 'agent' });
    const wire = { toAgent: [] as Uint8Array[], toCloud: [] as Uint8Array[] };
    const send = (table: StreamTable, queue: Uint8Array[], frame: StreamFrame) => {
      const checked = table.send(frame);
      if (!checked.ok) throw new Error(checked.error.message);
      if (!checked.ignore) queue.push(encodeFrame(frame));
    };
    const requestBody = pattern(600_000);
    const responseBody = pattern(400_000).reverse();
    const received = { atAgent: [] as Uint8Array[], atCloud: [] as Uint8Array[] };
    let peakBuffered = 0;

    const { stream, frame } = opened(cloud);
    wire.toAgent.push(encodeFrame(frame));
    const upload = chunkBody(requestBody, 16 * 1024);
    const download = chunkBody(responseBody);
    let agentStream: ReturnType<StreamTable['get']>;

    const deliver = (table: StreamTable, bytes: Uint8Array, sink: Uint8Array[], reply: Uint8Array[]) => {
      const decoded = decodeFrame(bytes);
      if (!decoded.ok || decoded.frame.type === 'skip') throw new Error('bad frame on the wire');
      const f: Frame = decoded.frame;
      if (f.type === 'ping' || f.type === 'pong' || f.type === 'goaway' || f.type === 'control') throw new Error('unexpected');
      const routed = table.receive(f);
      if (!routed.ok) throw new Error(routed.error.message);
      // A WINDOW_UPDATE that crossed the END is a straggler for a forgotten stream.
      if (routed.ignore || !routed.stream) return;
      if (f.type === 'open') agentStream = routed.stream;
      if (f.type === 'data') {
        sink.push(f.data.slice());
        peakBuffered = Math.max(peakBuffered, routed.stream.flow.buffered());
        const increment = routed.stream.flow.release(f.data.byteLength);
        if (increment > 0) send(table, reply, { type: 'window_update', streamId: f.streamId, increment });
      }
    };

    let responded = false;
    for (let round = 0; round < 10_000 && (cloud.active() > 0 || agent.active() > 0); round++) {
      // The cloud uploads as far as its credit allows, then the agent answers likewise.
      while (upload.length > 0 && stream.flow.canSend(upload[0]!.byteLength)) send(cloud, wire.toAgent, { type: 'data', streamId: 1, data: upload.shift()! });
      if (upload.length === 0 && stream.state() === 'open') send(cloud, wire.toAgent, { type: 'end', streamId: 1 });
      for (const bytes of wire.toAgent.splice(0)) deliver(agent, bytes, received.atAgent, wire.toCloud);
      if (agentStream && !responded) {
        send(agent, wire.toCloud, { type: 'response', streamId: 1, head: { status: 200, headers: [['content-type', 'application/octet-stream']] } });
        responded = true;
      }
      while (agentStream && download.length > 0 && agentStream.flow.canSend(download[0]!.byteLength)) {
        send(agent, wire.toCloud, { type: 'data', streamId: 1, data: download.shift()! });
      }
      if (agentStream && download.length === 0 && agentStream.state() === 'half_closed_remote') send(agent, wire.toCloud, { type: 'end', streamId: 1 });
      for (const bytes of wire.toCloud.splice(0)) deliver(cloud, bytes, received.atCloud, wire.toAgent);
    }
    expect(concat(received.atAgent)).toEqual(requestBody);
    expect(concat(received.atCloud)).toEqual(responseBody);
    expect(cloud.active() + agent.active()).toBe(0);
    expect(peakBuffered).toBeLessThanOrEqual(256 * 1024);
  });
});
