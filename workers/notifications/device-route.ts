import { Hono } from 'hono';
import { Problem } from '../../lib/errors.ts';
import { MAX_PLAINTEXT_BYTES } from '../../lib/webpush/aes128gcm.ts';
import type { AppEnv } from '../app-env.ts';
import { checkLimit } from '../gateway/rate-limit.ts';
import { validate } from '../validate.ts';
import { notificationsConfig } from './config.ts';
import { authenticateDeviceCaller, type DeviceCaller } from '../device-api/authenticate.ts';
import { webPushSize } from './payload.ts';
import { deviceNotificationBody, type NotificationMessage } from './schemas.ts';

/** The Hono env of Device Gateway routes: the app's, plus the authenticated device. */
export type DeviceEnv = { Bindings: AppEnv['Bindings']; Variables: AppEnv['Variables'] & { device: DeviceCaller } };

/**
 * `POST /device-api/v1/notifications {title, body, data?, severity}`: a device asks Gatehouse to notify its users.
 * The device is authenticated first (device token or x5c JWT, see workers/device-api/authenticate.ts), then limited to
 * NOTIFY_RATE_LIMIT_PER_DEVICE; the request becomes ONE message on the `NOTIFICATIONS` queue, and the answer is
 * 202 with the notification id, which the users' delivery history shows as `messageId`.
 */
export const deviceNotifications = new Hono<DeviceEnv>().post(
  '/device-api/v1/notifications',
  async function authenticateFirst(c, next) {
    // Authentication precedes body validation, so an unauthenticated caller learns nothing about the body rules.
    c.set('device', await authenticateDeviceCaller(c.env, c.req.raw));
    return next();
  },
  validate('json', deviceNotificationBody),
  async (c) => {
    const { deviceId } = c.get('device');
    const rule = notificationsConfig(c.env).perDevice;
    if (rule) {
      const outcome = await checkLimit(c.env, 'subject', `device:${deviceId}`, rule).catch(() => undefined);
      if (outcome && !outcome.allowed) {
        throw new Problem(429, 'Too Many Requests', {
          detail: `At most ${rule.limit} notifications per ${rule.windowSeconds} s from one device.`,
          headers: { 'Retry-After': String(outcome.retryAfterSeconds) },
          type: 'urn:gatehouse:problem:rate-limited',
        });
      }
    }
    const payload = c.req.valid('json');
    const message: NotificationMessage = { v: 1, id: crypto.randomUUID(), deviceId, createdAt: Date.now(), payload };
    if (webPushSize(message) > MAX_PLAINTEXT_BYTES) {
      throw new Problem(413, 'Payload Too Large', { detail: `The notification must fit a ${MAX_PLAINTEXT_BYTES}-byte push message; shorten the body or data.`, type: 'urn:gatehouse:problem:too-large' });
    }
    await c.env.NOTIFICATIONS.send(message, { contentType: 'json' });
    c.get('log').info('notification queued', { messageId: message.id, deviceId, severity: payload.severity });
    return c.json({ id: message.id }, 202);
  },
);
