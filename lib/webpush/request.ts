/**
 * The HTTP request that delivers one push message (RFC 8030 §5): the encrypted body with `Content-Encoding:
 * aes128gcm`, `TTL`, `Urgency`, an optional `Topic`, and the VAPID `Authorization`. Building it is pure; sending it is
 * the caller's business, so the Worker and tests can share it.
 */
import { utf8 } from '../encoding.ts';
import { encryptAes128gcm, type EncryptOverrides } from './aes128gcm.ts';
import { fromBase64Url } from './keys.ts';

/** RFC 8030 §5.3 urgency values. */
export const URGENCIES = ['very-low', 'low', 'normal', 'high'] as const;
/** How soon the push service should deliver the message. */
export type Urgency = (typeof URGENCIES)[number];

/** A browser's PushSubscription, as `toJSON()` gives it. */
export type PushSubscriptionJson = { endpoint: string; keys: { p256dh: string; auth: string } };

/** What one push request is made of. */
export type PushRequestInput = {
  subscription: PushSubscriptionJson;
  /** The message, usually JSON text; at most 3993 bytes once UTF-8 encoded. */
  payload: string | Uint8Array<ArrayBuffer>;
  /** `vapid t=…, k=…` for the endpoint's origin. */
  authorization: string;
  /** Seconds the push service may keep the message for an offline user agent (RFC 8030 §5.2). */
  ttlSeconds: number;
  urgency?: Urgency;
  /** Replaces an undelivered message with the same topic (RFC 8030 §5.4): at most 32 base64url characters. */
  topic?: string;
};

/** A ready-to-send request: URL and `fetch` init. */
export type PushRequest = { url: string; init: { method: 'POST'; headers: Record<string, string>; body: Uint8Array<ArrayBuffer> } };

/** Encrypts the payload and builds the request; throws `RangeError` for an oversized payload or bad TTL/topic. */
export async function buildPushRequest(input: PushRequestInput, overrides?: EncryptOverrides): Promise<PushRequest> {
  if (!Number.isInteger(input.ttlSeconds) || input.ttlSeconds < 0) throw new RangeError('TTL must be a non-negative integer');
  if (input.topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(input.topic)) throw new RangeError('Topic must be 1-32 base64url characters');
  const plaintext = typeof input.payload === 'string' ? utf8(input.payload) : input.payload;
  const body = await encryptAes128gcm(
    plaintext,
    { uaPublic: fromBase64Url(input.subscription.keys.p256dh), authSecret: fromBase64Url(input.subscription.keys.auth) },
    overrides,
  );
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Content-Encoding': 'aes128gcm',
    TTL: String(input.ttlSeconds),
    Authorization: input.authorization,
  };
  if (input.urgency) headers.Urgency = input.urgency;
  if (input.topic) headers.Topic = input.topic;
  return { url: input.subscription.endpoint, init: { method: 'POST', headers, body } };
}
