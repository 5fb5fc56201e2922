/**
 * What recipients receive, built from one queue message: the JSON a service worker decrypts from a Web Push message,
 * the Standard Webhooks body, and the FCM HTTP v1 `Message`. Pure, so sizes and shapes are tested without I/O.
 */
import { MAX_PLAINTEXT_BYTES } from '../../lib/webpush/aes128gcm.ts';
import type { Urgency } from '../../lib/webpush/request.ts';
import type { NotificationMessage, SEVERITIES } from './schemas.ts';

type Severity = (typeof SEVERITIES)[number];

/** The event type every channel carries. */
export const EVENT_TYPE = 'device.notification';

/** RFC 8030 §5.3 urgency per severity: critical and high both ask for immediate delivery. */
export const URGENCY: Record<Severity, Urgency> = { low: 'low', normal: 'normal', high: 'high', critical: 'high' };

/** The notification as recipients see it. */
export function recipientPayload(message: NotificationMessage, deviceName: string | null) {
  const { title, body, data, severity } = message.payload;
  return {
    type: EVENT_TYPE,
    id: message.id,
    deviceId: message.deviceId,
    deviceName,
    title,
    body,
    severity,
    data: data ?? {},
    createdAt: new Date(message.createdAt).toISOString(),
  };
}

const bytes = (text: string) => new TextEncoder().encode(text).length;

/**
 * The Web Push plaintext (JSON). It must fit one 4096-byte push message (RFC 8291 §4); the device name is dropped
 * if it alone makes it too long, and a RangeError says when even that is not enough.
 */
export function webPushPayload(message: NotificationMessage, deviceName: string | null): string {
  let text = JSON.stringify(recipientPayload(message, deviceName));
  if (bytes(text) > MAX_PLAINTEXT_BYTES) text = JSON.stringify(recipientPayload(message, null));
  if (bytes(text) > MAX_PLAINTEXT_BYTES) throw new RangeError(`the notification needs ${bytes(text)} bytes; a push message holds ${MAX_PLAINTEXT_BYTES}`);
  return text;
}

/** The bytes a device's notification takes in a push message, with room for a device name of `nameReserve` bytes. */
export const webPushSize = (message: NotificationMessage, nameReserve = 0): number => bytes(JSON.stringify(recipientPayload(message, null))) + nameReserve;

/** The webhook body, in the Standard Webhooks shape `{type, timestamp, data}`. */
export function webhookBody(message: NotificationMessage, deviceName: string | null, now = Date.now()): string {
  return JSON.stringify({ type: EVENT_TYPE, timestamp: new Date(now).toISOString(), data: recipientPayload(message, deviceName) });
}

/**
 * The FCM HTTP v1 `Message` for one registration token: a `notification` (title, body) and a `data` map, whose values
 * FCM requires to be strings (so the device's `data` travels as JSON text), with Android and APNs priorities from
 * the severity.
 */
export function fcmMessage(token: string, message: NotificationMessage, deviceName: string | null) {
  const urgent = message.payload.severity === 'high' || message.payload.severity === 'critical';
  const data: Record<string, string> = {
    type: EVENT_TYPE,
    id: message.id,
    deviceId: message.deviceId,
    severity: message.payload.severity,
    createdAt: new Date(message.createdAt).toISOString(),
    data: JSON.stringify(message.payload.data ?? {}),
  };
  if (deviceName) data.deviceName = deviceName;
  return {
    message: {
      token,
      notification: { title: message.payload.title, body: message.payload.body },
      data,
      android: { priority: urgent ? 'HIGH' : 'NORMAL' },
      apns: { headers: { 'apns-priority': urgent ? '10' : '5' } },
    },
  };
}
