import { describe, expect, it } from 'vitest';
import { DEFAULT_INITIAL_WINDOW, createFlowWindow } from './flow.ts';
import { ErrorCode, MAX_WINDOW } from './frame.ts';

describe('tunnel flow window', () => {
  it('starts with 256 KiB each way', () => {
    const w = createFlowWindow();
    expect(DEFAULT_INITIAL_WINDOW).toBe(262_144);
    expect(w.sendCredit()).toBe(DEFAULT_INITIAL_WINDOW);
    expect(w.receiveWindow()).toBe(DEFAULT_INITIAL_WINDOW);
  });

  it('spends send credit and refuses to overspend it', () => {
    const w = createFlowWindow({ sendWindow: 100, streamId: 3 });
    expect(w.canSend(100)).toBe(true);
    expect(w.consume(60)).toEqual({ ok: true });
    expect(w.canSend(41)).toBe(false);
    expect(w.consume(41)).toEqual({ ok: false, error: { code: ErrorCode.FLOW_CONTROL, message: expect.any(String), streamId: 3 } });
    expect(w.sendCredit()).toBe(40);
    expect(w.consume(40)).toEqual({ ok: true });
    expect(w.canSend(1)).toBe(false);
    expect(w.canSend(0)).toBe(true);
  });

  it('adds granted credit, refusing zero and overflow past 2^31 − 1', () => {
    const w = createFlowWindow({ sendWindow: 0 });
    expect(w.grant(10)).toEqual({ ok: true });
    expect(w.sendCredit()).toBe(10);
    expect(w.grant(0)).toMatchObject({ ok: false, error: { code: ErrorCode.PROTOCOL_ERROR } });
    expect(w.grant(MAX_WINDOW - 10)).toEqual({ ok: true });
    expect(w.grant(1)).toMatchObject({ ok: false, error: { code: ErrorCode.FLOW_CONTROL } });
    expect(w.sendCredit()).toBe(MAX_WINDOW);
  });

  it('reports a peer that overruns the receive window as FLOW_CONTROL', () => {
    const w = createFlowWindow({ receiveWindow: 1000, streamId: 5 });
    expect(w.receive(1000)).toEqual({ ok: true });
    expect(w.receive(1)).toEqual({ ok: false, error: { code: ErrorCode.FLOW_CONTROL, message: 'peer sent 1 bytes with only 0 granted', streamId: 5 } });
  });

  it('sends a WINDOW_UPDATE once half the window has been drained, in one batch', () => {
    const w = createFlowWindow({ receiveWindow: 1000 });
    w.receive(800);
    expect(w.buffered()).toBe(800);
    expect(w.release(300)).toBe(0);
    expect(w.release(199)).toBe(0);
    expect(w.receiveWindow()).toBe(200);
    expect(w.release(1)).toBe(500);
    expect(w.receiveWindow()).toBe(700);
    expect(w.buffered()).toBe(300);
    // Releasing more than is held is clamped: credit is only ever returned for bytes that arrived.
    expect(w.release(10_000)).toBe(0);
    expect(w.buffered()).toBe(0);
    w.receive(700);
    expect(w.release(700)).toBe(1000);
    expect(w.receiveWindow()).toBe(1000);
  });

  it('keeps a stream flowing forever when the reader keeps up', () => {
    const sender = createFlowWindow({ sendWindow: 64 * 1024 });
    const receiver = createFlowWindow({ receiveWindow: 64 * 1024 });
    let moved = 0;
    for (let i = 0; i < 1000; i++) {
      const n = Math.min(sender.sendCredit(), 16 * 1024);
      expect(n).toBeGreaterThan(0);
      expect(sender.consume(n).ok && receiver.receive(n).ok).toBe(true);
      const update = receiver.release(n);
      if (update > 0) expect(sender.grant(update)).toEqual({ ok: true });
      moved += n;
    }
    expect(moved).toBe(1000 * 16 * 1024);
    expect(receiver.buffered()).toBe(0);
  });

  it('refuses impossible initial windows', () => {
    expect(() => createFlowWindow({ sendWindow: -1 })).toThrow(RangeError);
    expect(() => createFlowWindow({ receiveWindow: 2 ** 31 })).toThrow(RangeError);
  });
});
