import { parseRateRule, type RateRule } from '../gateway/config.ts';

/**
 * Notification settings. The vars are declared in wrangler.toml, but an empty or missing one (another config, a test's
 * env) takes its default; `FCM_SERVICE_ACCOUNT` is an optional secret that `Env` does not declare. A value that is set
 * but invalid throws with the setting's name.
 */
export type NotificationBindings = Env &
  Partial<
    Record<
      | 'VAPID_PRIVATE_KEY'
      | 'VAPID_PUBLIC_KEY'
      | 'VAPID_SUBJECT'
      | 'FCM_SERVICE_ACCOUNT'
      | 'FCM_ENDPOINT'
      | 'FCM_TOKEN_URL'
      | 'FCM_PROJECT_ID'
      | 'NOTIFY_WEBPUSH_TTL_SECONDS'
      | 'NOTIFY_HTTP_TIMEOUT_MS'
      | 'NOTIFY_RETRY_BASE_SECONDS'
      | 'NOTIFY_RETRY_MAX_SECONDS'
      | 'NOTIFY_CONCURRENCY'
      | 'NOTIFY_MAX_SUBSCRIPTIONS_PER_USER'
      | 'NOTIFY_RATE_LIMIT_PER_DEVICE',
      string
    >
  >;

/** The parsed settings. */
export type NotificationsConfig = {
  devMode: boolean;
  /** RFC 8292 §2.1 contact (`mailto:` or `https:`) sent as the VAPID `sub`. */
  vapidSubject: string;
  webPushTtlSeconds: number;
  httpTimeoutMs: number;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  concurrency: number;
  maxSubscriptionsPerUser: number;
  perDevice: RateRule | null;
  fcmEndpoint: string;
  fcmTokenUrl: string | undefined;
  fcmProjectId: string | undefined;
};

const int = (name: string, v: string | undefined, dflt: number, min: number, max: number) => {
  if (v === undefined || v.trim() === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return n;
};

const httpUrl = (name: string, v: string | undefined, dflt: string | undefined) => {
  const value = v?.trim() || dflt;
  if (value !== undefined && !/^https?:\/\/[^\s]+$/.test(value)) throw new Error(`${name} must be an http(s) URL`);
  return value?.replace(/\/+$/, '');
};

/** The longest delay a Queues retry accepts, in seconds (12 hours). */
export const QUEUE_MAX_DELAY_SECONDS = 43_200;

const cache = new WeakMap<object, NotificationsConfig>();

/** Reads and validates the notification vars once per env object. */
export function notificationsConfig(env: Env): NotificationsConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const vars = env as NotificationBindings;
  const vapidSubject = vars.VAPID_SUBJECT?.trim() || 'mailto:notifications@gatehouse.invalid';
  if (!/^(mailto:|https:)/.test(vapidSubject)) throw new Error('VAPID_SUBJECT must be a mailto: or https: URI');
  const config: NotificationsConfig = {
    devMode: env.DEV_MODE === 'true',
    vapidSubject,
    webPushTtlSeconds: int('NOTIFY_WEBPUSH_TTL_SECONDS', vars.NOTIFY_WEBPUSH_TTL_SECONDS, 86_400, 0, 2_419_200),
    httpTimeoutMs: int('NOTIFY_HTTP_TIMEOUT_MS', vars.NOTIFY_HTTP_TIMEOUT_MS, 10_000, 100, 60_000),
    retryBaseSeconds: int('NOTIFY_RETRY_BASE_SECONDS', vars.NOTIFY_RETRY_BASE_SECONDS, 30, 0, 3600),
    retryMaxSeconds: int('NOTIFY_RETRY_MAX_SECONDS', vars.NOTIFY_RETRY_MAX_SECONDS, 3600, 0, QUEUE_MAX_DELAY_SECONDS),
    concurrency: int('NOTIFY_CONCURRENCY', vars.NOTIFY_CONCURRENCY, 32, 1, 256),
    maxSubscriptionsPerUser: int('NOTIFY_MAX_SUBSCRIPTIONS_PER_USER', vars.NOTIFY_MAX_SUBSCRIPTIONS_PER_USER, 50, 1, 10_000),
    perDevice: parseRateRule('NOTIFY_RATE_LIMIT_PER_DEVICE', vars.NOTIFY_RATE_LIMIT_PER_DEVICE, { limit: 60, windowSeconds: 60 }),
    fcmEndpoint: httpUrl('FCM_ENDPOINT', vars.FCM_ENDPOINT, 'https://fcm.googleapis.com') ?? 'https://fcm.googleapis.com',
    fcmTokenUrl: httpUrl('FCM_TOKEN_URL', vars.FCM_TOKEN_URL, undefined),
    fcmProjectId: vars.FCM_PROJECT_ID?.trim() || undefined,
  };
  cache.set(env, config);
  return config;
}

/** The VAPID secret(s), or undefined when Web Push is not configured. */
export function vapidSecret(env: Env): { privateKey: string; publicKey: string | undefined } | undefined {
  const vars = env as NotificationBindings;
  const privateKey = vars.VAPID_PRIVATE_KEY?.trim();
  return privateKey ? { privateKey, publicKey: vars.VAPID_PUBLIC_KEY?.trim() || undefined } : undefined;
}

/** The FCM service-account JSON, or undefined when FCM is not configured. */
export const fcmServiceAccountSecret = (env: Env): string | undefined => (env as NotificationBindings).FCM_SERVICE_ACCOUNT?.trim() || undefined;
