/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme"): HMAC-SHA256 over
 * `<webhook-id>.<webhook-timestamp>.<body>` keyed with the bytes of the base64 secret after `whsec_`, sent as
 * `webhook-signature: v1,<base64>` (several space-separated during a secret rotation). Runtime-neutral (WebCrypto).
 */
import { base64ToBytes, bytesToBase64, timingSafeEqual, utf8 } from './encoding.ts';

/** The prefix of a Standard Webhooks secret. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** How far a receiver lets `webhook-timestamp` stray from its clock, in seconds (the specification's 5 minutes). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** A fresh secret: `whsec_` + base64 of 32 random bytes (the specification asks for 24 to 64). */
export const generateWebhookSecret = (): string => WEBHOOK_SECRET_PREFIX + bytesToBase64(crypto.getRandomValues(new Uint8Array(32)));

/** The HMAC key bytes of a secret (with or without its `whsec_` prefix); throws `TypeError` when it is not base64. */
export function webhookSecretBytes(secret: string): Uint8Array<ArrayBuffer> {
  const bytes = base64ToBytes(secret.startsWith(WEBHOOK_SECRET_PREFIX) ? secret.slice(WEBHOOK_SECRET_PREFIX.length) : secret);
  if (bytes.length === 0) throw new TypeError('empty webhook secret');
  return bytes;
}

/** What is signed: the message id, the attempt's Unix time in seconds and the exact body bytes sent. */
export type WebhookContent = { id: string; timestamp: number; body: string };

/** Signs one delivery attempt; returns the `webhook-signature` value `v1,<base64 HMAC-SHA256>`. */
export async function signWebhook(secret: string, content: WebhookContent): Promise<string> {
  const key = await crypto.subtle.importKey('raw', webhookSecretBytes(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, utf8(`${content.id}.${content.timestamp}.${content.body}`));
  return `v1,${bytesToBase64(new Uint8Array(mac))}`;
}

/** The three Standard Webhooks headers of one attempt, signed. */
export async function webhookHeaders(secret: string, content: WebhookContent): Promise<Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>> {
  return { 'webhook-id': content.id, 'webhook-timestamp': String(content.timestamp), 'webhook-signature': await signWebhook(secret, content) };
}

/**
 * Verifies a delivery as a receiver does: the timestamp within the tolerance of `now` (replay protection), and one of
 * the space-separated `v1,` signatures equal, compared in constant time.
 */
export async function verifyWebhook(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  opts: { now?: number; toleranceSeconds?: number } = {},
): Promise<boolean> {
  if (!/^\d{1,12}$/.test(headers.timestamp)) return false;
  const timestamp = Number(headers.timestamp);
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  if (Math.abs(now - timestamp) > (opts.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS)) return false;
  const expected = await signWebhook(secret, { id: headers.id, timestamp, body });
  return headers.signature.split(' ').filter((s) => s.startsWith('v1,')).some((s) => timingSafeEqual(s, expected));
}
