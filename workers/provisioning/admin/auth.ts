import type { MiddlewareHandler } from 'hono';
import { sha256Hex, timingSafeEqual } from '../../../lib/encoding.ts';
import { Problem } from '../../../lib/errors.ts';
import type { AppEnv } from '../../app-env.ts';
import { database } from '../../db.ts';
import { provisioningConfig } from '../config.ts';
import { isAllowed } from '../ip-allow.ts';
import { adminLockedUntil, recordAdminFailure } from '../store/throttle.ts';

/** The actor name audit rows carry for changes made with the PROV-ADMIN key. */
export const PROV_ADMIN_ACTOR = 'prov-admin';

const SCHEME = /^PROV-ADMIN +(\S+) *$/i;

/**
 * True when `Authorization` is `PROV-ADMIN <key>` with the configured key. Both sides are hashed first, so the
 * constant-time comparison does not even leak the key's length; an empty configured key matches nothing.
 */
export async function isAdminKey(header: string | undefined, expected: string | undefined): Promise<boolean> {
  const given = header ? SCHEME.exec(header)?.[1] : undefined;
  if (!given || !expected) return false;
  return timingSafeEqual(await sha256Hex(given), await sha256Hex(expected));
}

// RFC 9110 §15.5.2: a 401 carries a challenge. The body says nothing more than the status.
const unauthorized = () => new Problem(401, 'Unauthorized', { headers: { 'WWW-Authenticate': 'PROV-ADMIN realm="gatehouse-provisioning"' } });

/**
 * Guards the provisioning admin API: the client IP must be on PROV_ADMIN_ALLOWED_IPS (when set; else 403), must not be
 * locked out after repeated bad credentials (429 with Retry-After, RFC 6585 §4), and must present the PROV-ADMIN key
 * (else 401 with no detail, and the failure counts towards the lock-out).
 */
export const provAdminAuth = (): MiddlewareHandler<AppEnv> =>
  async function provAdminAuth(c, next) {
    const config = provisioningConfig(c.env);
    const ip = c.req.header('CF-Connecting-IP');
    if (!isAllowed(config.adminAllowList, ip)) {
      c.get('log').warn('admin request from outside the allow-list', { ip: ip ?? 'none' });
      throw new Problem(403, 'Forbidden');
    }
    const db = database(c.env.DB);
    const now = Date.now();
    const client = ip ?? 'unknown';
    const retryAt = await adminLockedUntil(db, client, now);
    if (retryAt !== null) {
      throw new Problem(429, 'Too Many Requests', { headers: { 'Retry-After': String(Math.ceil((retryAt - now) / 1000)) } });
    }
    if (!(await isAdminKey(c.req.header('Authorization'), c.env.PROV_ADMIN_API_KEY))) {
      const lockedUntil = await recordAdminFailure(db, client, { maxFailures: config.adminMaxFailures, lockoutSeconds: config.adminLockoutSeconds }, now);
      c.get('log').warn('bad admin credential', { ip: client, lockedOut: lockedUntil !== null });
      throw unauthorized();
    }
    await next();
  };
