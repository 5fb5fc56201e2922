import { describe, expect, it } from 'vitest';
import { MAX_PLAINTEXT_BYTES } from '../../lib/webpush/aes128gcm.ts';
import { classifyFcm, fcmErrorCode } from './channels/fcm.ts';
import { fcmMessage, URGENCY, webhookBody, webPushPayload, webPushSize } from './payload.ts';
import type { NotificationMessage } from './schemas.ts';

const message = (payload: Partial<NotificationMessage['payload']> = {}): NotificationMessage => ({
  v: 1,
  id: '7d9f6a4e-3c1b-4e8a-9f0d-2b5c6a7e8f90',
  deviceId: 'dev-1',
  createdAt: Date.UTC(2030, 0, 1),
  payload: { title: 'T', body: 'B', severity: 'normal', ...payload },
});

describe('recipient payloads', () => {
  it('shapes the webhook body as Standard Webhooks {type, timestamp, data}', () => {
    expect(JSON.parse(webhookBody(message({ data: { a: 1 } }), 'Pump', Date.UTC(2030, 0, 2)))).toEqual({
      type: 'device.notification',
      timestamp: '2030-01-02T00:00:00.000Z',
      data: { type: 'device.notification', id: message().id, deviceId: 'dev-1', deviceName: 'Pump', title: 'T', body: 'B', severity: 'normal', data: { a: 1 }, createdAt: '2030-01-01T00:00:00.000Z' },
    });
  });

  it('keeps Web Push within one push message, dropping the device name first', () => {
    const nearlyFull = message({ body: 'x'.repeat(MAX_PLAINTEXT_BYTES - webPushSize(message()) + 1) });
    expect(webPushSize(nearlyFull)).toBe(MAX_PLAINTEXT_BYTES);
    expect(JSON.parse(webPushPayload(nearlyFull, 'A long device name')).deviceName).toBeNull();
    expect(JSON.parse(webPushPayload(message(), 'Pump')).deviceName).toBe('Pump');
    expect(() => webPushPayload(message({ body: 'x'.repeat(MAX_PLAINTEXT_BYTES) }), null)).toThrow(RangeError);
  });

  it('maps severity to RFC 8030 urgency and FCM priorities, with string-only FCM data', () => {
    expect(URGENCY).toEqual({ low: 'low', normal: 'normal', high: 'high', critical: 'high' });
    const low = fcmMessage('tok', message({ severity: 'low', data: { n: 1 } }), null).message;
    expect(low.android.priority).toBe('NORMAL');
    expect(low.apns.headers['apns-priority']).toBe('5');
    expect(low.data).not.toHaveProperty('deviceName');
    expect(Object.values(low.data).every((v) => typeof v === 'string')).toBe(true);
    expect(low.data.data).toBe('{"n":1}');
    expect(fcmMessage('tok', message({ severity: 'critical' }), 'Pump').message).toMatchObject({ android: { priority: 'HIGH' }, data: { deviceName: 'Pump' } });
  });
});

describe('classifyFcm (FCM HTTP v1 error codes)', () => {
  const fcmError = (status: string, errorCode?: string) => ({ error: { status, details: errorCode ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] : [] } });
  it('reads FcmError codes and decides', () => {
    expect(fcmErrorCode(fcmError('NOT_FOUND', 'UNREGISTERED'))).toBe('UNREGISTERED');
    expect(fcmErrorCode(fcmError('INTERNAL'))).toBe('INTERNAL');
    expect(fcmErrorCode('garbage')).toBeUndefined();
    expect(classifyFcm(200, null, null, 5)).toEqual({ kind: 'delivered', latencyMs: 5 });
    expect(classifyFcm(400, fcmError('INVALID_ARGUMENT', 'UNREGISTERED'), null, 1)).toMatchObject({ kind: 'gone' });
    expect(classifyFcm(404, null, null, 1)).toEqual({ kind: 'gone', error: 'HTTP 404', latencyMs: 1 });
    expect(classifyFcm(429, fcmError('RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED'), '17', 1)).toEqual({ kind: 'retry', error: 'HTTP 429 QUOTA_EXCEEDED', latencyMs: 1, retryAfterSeconds: 17 });
    expect(classifyFcm(503, fcmError('UNAVAILABLE', 'UNAVAILABLE'), null, 1)).toMatchObject({ kind: 'retry' });
    expect(classifyFcm(401, fcmError('UNAUTHENTICATED'), null, 1)).toMatchObject({ kind: 'retry', unauthorized: true });
    expect(classifyFcm(403, fcmError('PERMISSION_DENIED', 'SENDER_ID_MISMATCH'), null, 1)).toEqual({ kind: 'failed', error: 'HTTP 403 SENDER_ID_MISMATCH', latencyMs: 1 });
  });
});
