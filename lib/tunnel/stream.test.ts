import { describe, expect, it } from 'vitest';
import type { DataFrame, EndFrame, OpenFrame, ResponseFrame, StreamFrame } from './frame.ts';
import { ErrorCode } from './frame.ts';
import { createStream, type StreamResult, type TunnelStream } from './stream.ts';

const open = (streamId: number, websocket = false): OpenFrame => ({
  type: 'open',
  streamId,
  head: { method: 'GET', path: '/', headers: [], ...(websocket ? { websocket: true as const } : {}) },
});
const response = (streamId: number, status = 200): ResponseFrame => ({ type: 'response', streamId, head: { status, headers: [] } });
const data = (streamId: number, n = 10, flags: { text?: true; more?: true } = {}): DataFrame => ({ type: 'data', streamId, data: new Uint8Array(n), ...flags });
const end = (streamId: number, close?: EndFrame['close']): EndFrame => (close ? { type: 'end', streamId, close } : { type: 'end', streamId });

const PASS: StreamResult = { ok: true, ignore: false };
const DROP: StreamResult = { ok: true, ignore: true };
const failed = (code: number) => ({ ok: false, error: { code, message: expect.any(String), streamId: 1 } });

/** A responder stream that has received OPEN. */
function responder(websocket = false): TunnelStream {
  const s = createStream({ id: 1, role: 'responder' });
  expect(s.receive(open(1, websocket))).toEqual(PASS);
  return s;
}

/** An opener stream that has sent OPEN. */
function opener(websocket = false): TunnelStream {
  const s = createStream({ id: 1, role: 'opener' });
  expect(s.send(open(1, websocket))).toEqual(PASS);
  return s;
}

describe('tunnel stream state machine', () => {
  it('walks the opener through idle → open → half-closed (local) → closed', () => {
    const s = createStream({ id: 1, role: 'opener' });
    expect(s.state()).toBe('idle');
    const steps: [('send' | 'receive'), StreamFrame, string][] = [
      ['send', open(1), 'open'],
      ['send', data(1), 'open'],
      ['send', end(1), 'half_closed_local'],
      ['receive', response(1), 'half_closed_local'],
      ['receive', data(1), 'half_closed_local'],
      ['receive', end(1), 'closed'],
    ];
    for (const [way, frame, state] of steps) {
      expect(way === 'send' ? s.send(frame) : s.receive(frame)).toEqual(PASS);
      expect(s.state(), `${way} ${frame.type}`).toBe(state);
    }
  });

  it('walks the responder through idle → open → half-closed (remote) → closed', () => {
    const s = createStream({ id: 1, role: 'responder' });
    expect(s.receive(open(1))).toEqual(PASS);
    expect(s.receive(end(1))).toEqual(PASS);
    expect(s.state()).toBe('half_closed_remote');
    expect(s.send(response(1))).toEqual(PASS);
    expect(s.send(data(1))).toEqual(PASS);
    expect(s.send(end(1))).toEqual(PASS);
    expect(s.state()).toBe('closed');
  });

  it('lets the responder answer before the request body is done', () => {
    const s = responder();
    expect(s.send(response(1, 413))).toEqual(PASS);
    expect(s.send(end(1))).toEqual(PASS);
    expect(s.state()).toBe('half_closed_local');
    expect(s.receive(data(1))).toEqual(PASS);
  });

  it('rejects DATA before OPEN and before RESPONSE', () => {
    expect(createStream({ id: 1, role: 'responder' }).receive(data(1))).toEqual(failed(ErrorCode.PROTOCOL_ERROR));
    expect(opener().receive(data(1))).toEqual(failed(ErrorCode.PROTOCOL_ERROR));
    expect(opener().receive(end(1))).toEqual(failed(ErrorCode.PROTOCOL_ERROR));
  });

  it('rejects DATA and END after END', () => {
    const s = responder();
    s.receive(end(1));
    expect(s.receive(data(1))).toEqual(failed(ErrorCode.STREAM_CLOSED));
    expect(s.receive(end(1))).toEqual(failed(ErrorCode.STREAM_CLOSED));
  });

  it('rejects RESPONSE twice, RESPONSE to the responder and OPEN twice', () => {
    const s = opener();
    expect(s.receive(response(1))).toEqual(PASS);
    expect(s.receive(response(1))).toEqual(failed(ErrorCode.PROTOCOL_ERROR));
    expect(responder().receive(response(1))).toEqual(failed(ErrorCode.PROTOCOL_ERROR));
    expect(responder().receive(open(1))).toEqual(failed(ErrorCode.PROTOCOL_ERROR));
    expect(opener().receive(open(1))).toEqual(failed(ErrorCode.PROTOCOL_ERROR));
  });

  it('rejects frames on a stream closed by END both ways, but drops a late WINDOW_UPDATE', () => {
    const s = opener();
    s.send(end(1));
    s.receive(response(1));
    s.receive(end(1));
    expect(s.state()).toBe('closed');
    expect(s.receive(data(1))).toEqual(failed(ErrorCode.STREAM_CLOSED));
    expect(s.receive(response(1))).toEqual(failed(ErrorCode.PROTOCOL_ERROR));
    expect(s.receive({ type: 'window_update', streamId: 1, increment: 5 })).toEqual(DROP);
    expect(s.send(data(1))).toEqual(failed(ErrorCode.STREAM_CLOSED));
  });

  it('after a RESET sent, drops what was in flight and refuses to send more', () => {
    const s = responder();
    expect(s.send({ type: 'reset', streamId: 1, code: ErrorCode.CANCEL })).toEqual(PASS);
    expect(s.state()).toBe('closed');
    expect(s.receive(data(1))).toEqual(DROP);
    expect(s.receive(end(1))).toEqual(DROP);
    expect(s.receive({ type: 'reset', streamId: 1, code: ErrorCode.CANCEL })).toEqual(DROP);
    expect(s.send(response(1))).toEqual(failed(ErrorCode.STREAM_CLOSED));
    expect(s.send({ type: 'reset', streamId: 1, code: ErrorCode.CANCEL })).toEqual(DROP);
  });

  it('after a RESET received, is closed and drops stragglers', () => {
    const s = opener();
    expect(s.receive({ type: 'reset', streamId: 1, code: ErrorCode.UPSTREAM_UNREACHABLE })).toEqual(PASS);
    expect(s.state()).toBe('closed');
    expect(s.receive(response(1))).toEqual(DROP);
    expect(s.send(data(1))).toEqual(failed(ErrorCode.STREAM_CLOSED));
  });

  it('accounts DATA against the windows and applies WINDOW_UPDATE', () => {
    const s = createStream({ id: 1, role: 'opener', sendWindow: 100, receiveWindow: 100 });
    s.send(open(1));
    expect(s.send(data(1, 100))).toEqual(PASS);
    expect(s.send(data(1, 1))).toEqual(failed(ErrorCode.FLOW_CONTROL));
    expect(s.receive({ type: 'window_update', streamId: 1, increment: 50 })).toEqual(PASS);
    expect(s.flow.sendCredit()).toBe(50);
    s.receive(response(1));
    expect(s.receive(data(1, 100))).toEqual(PASS);
    expect(s.receive(data(1, 1))).toEqual(failed(ErrorCode.FLOW_CONTROL));
    expect(s.flow.buffered()).toBe(100);
  });

  it('does not bother sending WINDOW_UPDATE once the peer has ended', () => {
    const s = responder();
    expect(s.send({ type: 'window_update', streamId: 1, increment: 10 })).toEqual(PASS);
    s.receive(end(1));
    expect(s.send({ type: 'window_update', streamId: 1, increment: 10 })).toEqual(DROP);
  });

  it('refuses out-of-order sends, which are bugs on this side', () => {
    expect(createStream({ id: 1, role: 'opener' }).send(data(1))).toEqual(failed(ErrorCode.INTERNAL));
    expect(opener().send(response(1))).toEqual(failed(ErrorCode.INTERNAL));
    expect(opener().send(open(1))).toEqual(failed(ErrorCode.INTERNAL));
    expect(responder().send(data(1))).toEqual(failed(ErrorCode.INTERNAL));
    expect(createStream({ id: 1, role: 'responder' }).send({ type: 'reset', streamId: 1, code: 0 })).toEqual(failed(ErrorCode.INTERNAL));
    expect(opener().send(data(2))).toEqual(failed(ErrorCode.INTERNAL));
  });

  describe('WebSocket upgrades', () => {
    it('carries messages both ways after a 101', () => {
      const s = responder(true);
      expect(s.upgraded()).toBe(false);
      expect(s.send(response(1, 101))).toEqual(PASS);
      expect(s.upgraded()).toBe(true);
      expect(s.receive(data(1, 5, { text: true, more: true }))).toEqual(PASS);
      expect(s.send(data(1, 5, { text: true }))).toEqual(PASS);
      expect(s.receive(end(1, { code: 1000, reason: 'bye' }))).toEqual(PASS);
      expect(s.send(end(1, { code: 1000, reason: 'bye' }))).toEqual(PASS);
      expect(s.state()).toBe('closed');
    });

    it('refuses body bytes from the opener before the 101', () => {
      expect(responder(true).receive(data(1))).toEqual(failed(ErrorCode.PROTOCOL_ERROR));
      expect(opener(true).send(data(1))).toEqual(failed(ErrorCode.INTERNAL));
    });

    it('treats a refused upgrade as an ordinary response', () => {
      const s = opener(true);
      expect(s.receive(response(1, 403))).toEqual(PASS);
      expect(s.upgraded()).toBe(false);
      expect(s.receive(data(1, 3, { text: true }))).toEqual(failed(ErrorCode.PROTOCOL_ERROR));
      expect(s.send(end(1))).toEqual(PASS);
    });

    it('refuses 101 without an upgrade request, and message flags on plain streams', () => {
      expect(opener().receive(response(1, 101))).toEqual(failed(ErrorCode.PROTOCOL_ERROR));
      expect(responder().send(response(1, 101))).toEqual(failed(ErrorCode.INTERNAL));
      const s = opener();
      s.receive(response(1));
      expect(s.receive(data(1, 1, { more: true }))).toEqual(failed(ErrorCode.PROTOCOL_ERROR));
      expect(s.receive(end(1, { code: 1000, reason: '' }))).toEqual(failed(ErrorCode.PROTOCOL_ERROR));
      expect(s.send(data(1, 1, { text: true }))).toEqual(failed(ErrorCode.INTERNAL));
    });
  });
});
