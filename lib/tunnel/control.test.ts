import { describe, expect, it } from 'vitest';
import { controlMessageSchema, controlSender, requestHeadSchema, responseHeadSchema } from './control.ts';
import { MAX_HEADERS } from './frame.ts';

const base = { method: 'GET', path: '/', headers: [] as [string, string][] };
const requestOk = (patch: Record<string, unknown>): boolean => requestHeadSchema.safeParse({ ...base, ...patch }).success;

describe('tunnel request head schema', () => {
  it('accepts origin-form paths with queries and any token method', () => {
    for (const path of ['/', '/a/b?c=d&e=%20f', "/~user/!$&'()*+,;=:@", '/a//b', '/?']) expect(requestOk({ path })).toBe(true);
    for (const method of ['GET', 'PROPFIND', 'M-SEARCH', 'x']) expect(requestOk({ method })).toBe(true);
  });

  it('refuses paths that are not origin-form or that a URL parser would read as another host', () => {
    for (const path of ['', 'a', 'http://x/', '//evil.example/', '/\\evil.example', '/a b', '/a\tb', '/\u00e9', '/a\nb']) {
      expect(requestOk({ path }), path).toBe(false);
    }
  });

  it('refuses methods that are not tokens', () => {
    for (const method of ['', 'GE T', 'GET\r\n', 'ÉCRIRE', 'a'.repeat(33)]) expect(requestOk({ method }), method).toBe(false);
  });

  it('keeps repeated headers in order and refuses bad names, CR/LF/NUL values and too many fields', () => {
    const headers: [string, string][] = [
      ['set-cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['x-empty', ''],
    ];
    expect(requestHeadSchema.parse({ ...base, headers }).headers).toEqual(headers);
    expect(requestOk({ headers: [['bad name', 'v']] })).toBe(false);
    expect(requestOk({ headers: [['bad:name', 'v']] })).toBe(false);
    expect(requestOk({ headers: [['', 'v']] })).toBe(false);
    for (const value of ['a\rb', 'a\nb', 'a\0b']) expect(requestOk({ headers: [['x', value]] })).toBe(false);
    expect(requestOk({ headers: [['x', 'v', 'extra']] })).toBe(false);
    expect(requestOk({ headers: Array.from({ length: MAX_HEADERS }, () => ['x', 'v']) })).toBe(true);
    expect(requestOk({ headers: Array.from({ length: MAX_HEADERS + 1 }, () => ['x', 'v']) })).toBe(false);
  });

  it('allows only websocket: true and strips unknown members', () => {
    expect(requestOk({ websocket: true })).toBe(true);
    expect(requestOk({ websocket: false })).toBe(false);
    expect(requestHeadSchema.parse({ ...base, extra: 1 })).toEqual(base);
  });
});

describe('tunnel response head schema', () => {
  it('accepts 101 and 200–599 only', () => {
    const ok = (status: unknown): boolean => responseHeadSchema.safeParse({ status, headers: [] }).success;
    for (const status of [101, 200, 204, 304, 599]) expect(ok(status)).toBe(true);
    for (const status of [100, 103, 199, 600, 200.5, '200']) expect(ok(status)).toBe(false);
  });
});

describe('tunnel control messages', () => {
  it('validates each type and tells who may send it', () => {
    const hello = controlMessageSchema.parse({ type: 'hello', agentVersion: '0.1.0', futureField: true });
    expect(hello).toEqual({ type: 'hello', agentVersion: '0.1.0' });
    expect(controlSender(hello)).toBe('agent');
    expect(controlSender(controlMessageSchema.parse({ type: 'claimed' }))).toBe('cloud');
    expect(controlMessageSchema.safeParse({ type: 'claim_code', code: 'ABCD', expiresAt: 1.5 }).success).toBe(false);
    expect(controlMessageSchema.safeParse({ type: 'device_token', token: '', expiresAt: 1 }).success).toBe(false);
    expect(controlMessageSchema.safeParse({ type: 'config', settings: { initialWindow: 1024 } }).success).toBe(false);
    expect(controlMessageSchema.safeParse({ type: 'config', settings: { maxConcurrentStreams: 0 } }).success).toBe(false);
    expect(controlMessageSchema.safeParse({ type: 'unknown' }).success).toBe(false);
  });
});
