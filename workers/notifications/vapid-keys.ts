import { loadVapidKeys, type VapidKeys } from '../../lib/webpush/vapid.ts';
import { vapidSecret } from './config.ts';

const loaded = new Map<string, Promise<VapidKeys>>();

/**
 * The deployment's VAPID key (RFC 8292 §3.2), imported once per isolate; undefined when `VAPID_PRIVATE_KEY` is not set,
 * which turns Web Push off. A key that is set but unreadable rejects with an error naming the setting (never the key).
 */
export function vapidKeys(env: Env): Promise<VapidKeys> | undefined {
  const secret = vapidSecret(env);
  if (!secret) return undefined;
  const cacheKey = `${secret.privateKey}|${secret.publicKey ?? ''}`;
  let keys = loaded.get(cacheKey);
  if (!keys) {
    keys = loadVapidKeys(secret.privateKey, secret.publicKey);
    keys.catch(() => loaded.delete(cacheKey));
    loaded.set(cacheKey, keys);
  }
  return keys;
}
