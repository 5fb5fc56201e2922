import { describe, expect, it } from 'vitest';
import { classifyHttp, fetchError, parseRetryAfter, retryDelaySeconds, type Outcome } from './outcome.ts';

const now = Date.UTC(2030, 0, 1, 12);
const retry = (retryAfterSeconds?: number): Outcome => ({ kind: 'retry', error: 'HTTP 503', latencyMs: 1, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) });

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  it('reads delay-seconds and HTTP-dates, and ignores garbage', () => {
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter(new Date(now + 90_500).toUTCString(), now)).toBe(90);
    expect(parseRetryAfter('Wed, 01 Jan 2020 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('999999999', now)).toBe(43_200);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('classifyHttp', () => {
  it('delivers on 2xx', () => {
    expect(classifyHttp(201, null, 'push', 12)).toEqual({ kind: 'delivered', latencyMs: 12 });
    expect(classifyHttp(204, null, 'webhook', 3)).toEqual({ kind: 'delivered', latencyMs: 3 });
  });

  it('treats 404 and 410 as gone for push services, only 410 for webhooks', () => {
    expect(classifyHttp(404, null, 'push', 1)).toEqual({ kind: 'gone', error: 'HTTP 404', latencyMs: 1 });
    expect(classifyHttp(410, null, 'push', 1)).toMatchObject({ kind: 'gone' });
    expect(classifyHttp(410, null, 'webhook', 1)).toMatchObject({ kind: 'gone' });
    expect(classifyHttp(404, null, 'webhook', 1)).toEqual({ kind: 'failed', error: 'HTTP 404', latencyMs: 1 });
  });

  it('retries 408, 429 and 5xx with the Retry-After, and fails other statuses for good', () => {
    expect(classifyHttp(429, '7', 'push', 1, now)).toEqual({ kind: 'retry', error: 'HTTP 429', latencyMs: 1, retryAfterSeconds: 7 });
    expect(classifyHttp(503, null, 'webhook', 1)).toEqual({ kind: 'retry', error: 'HTTP 503', latencyMs: 1 });
    expect(classifyHttp(408, null, 'webhook', 1)).toMatchObject({ kind: 'retry' });
    for (const status of [301, 302, 400, 401, 403, 413]) expect(classifyHttp(status, null, 'push', 1).kind, String(status)).toBe('failed');
  });
});

describe('retryDelaySeconds', () => {
  const cfg = { retryBaseSeconds: 30, retryMaxSeconds: 3600 };
  it('doubles per attempt with jitter between half and all of the step', () => {
    expect(retryDelaySeconds(1, [retry()], cfg, () => 0)).toBe(15);
    expect(retryDelaySeconds(1, [retry()], cfg, () => 1)).toBe(30);
    expect(retryDelaySeconds(2, [retry()], cfg, () => 1)).toBe(60);
    expect(retryDelaySeconds(4, [retry()], cfg, () => 0.5)).toBe(180);
    expect(retryDelaySeconds(30, [retry()], cfg, () => 1)).toBe(3600);
  });

  it('waits at least as long as the longest Retry-After, within the cap', () => {
    expect(retryDelaySeconds(1, [retry(5), retry(120), retry()], cfg, () => 0)).toBe(120);
    expect(retryDelaySeconds(1, [retry(99_999)], cfg, () => 0)).toBe(3600);
    expect(retryDelaySeconds(1, [retry(2)], { retryBaseSeconds: 0, retryMaxSeconds: 60 }, () => 0)).toBe(2);
    expect(retryDelaySeconds(3, [retry()], { retryBaseSeconds: 0, retryMaxSeconds: 60 })).toBe(0);
  });
});

describe('fetchError', () => {
  it('names timeouts and hides everything else', () => {
    expect(fetchError(new DOMException('x', 'TimeoutError'), 5000)).toBe('timeout after 5000 ms');
    expect(fetchError(new TypeError('connect ECONNREFUSED 10.0.0.1:443 https://secret@host'), 5000)).toBe('network error');
  });
});
