import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { Problem } from '../../lib/errors.ts';
import { protectApi, type ApiEnv } from '../api/current-user.ts';
import { deviceView, findMembership } from '../api/device-store.ts';
import type { RateRule } from '../gateway/config.ts';
import { clientIp } from '../gateway/rate-limit.ts';
import { database } from '../db.ts';
import { validate } from '../validate.ts';
import { requireOrg } from '../orgs/org-store.ts';
import { consumeClaimCode } from './claim-store.ts';
import { tunnelConfig } from './config.ts';
import { tunnelOf } from './internal.ts';

/** `POST /api/devices/claim` body. */
export const claimBody = z.object({
  claimCode: z.string().min(1).max(64).describe('The code the device printed, e.g. K7QF9-3MZX2'),
  orgId: z.string().min(1).max(100).optional().describe('An organisation the caller belongs to, which the device joins (workers/orgs)'),
});

/** Every failure of a claim looks the same, so a caller learns nothing about codes or devices. */
const claimFailed = () =>
  new Problem(400, 'Bad Request', {
    detail: 'The claim code is not valid, has expired, or its device cannot be claimed right now (it must be online and unclaimed).',
    type: 'urn:gatehouse:problem:claim-failed',
  });

// The Client API's front door, unless the route is mounted behind it already (workers/api puts it on /api/devices/*).
const ensureUser = (): MiddlewareHandler<ApiEnv> => {
  const front = protectApi();
  return async function ensureUser(c, next) {
    if (c.get('user')) return next();
    return front(c, next);
  };
};

/** Takes one claim attempt from the `claim:<scope>:<key>` bucket; 429 beyond the rule, and closed if the limiter fails. */
async function takeAttempt(env: Env, scope: 'user' | 'ip', key: string, rule: RateRule): Promise<void> {
  let result: { allowed: boolean; retryAfterSeconds: number };
  try {
    result = await env.RATE_LIMITER.getByName(`claim:${scope}:${key}`).take(rule.limit, rule.windowSeconds);
  } catch (err) {
    // Unlike the general limits, these bound a brute force of claim codes, so they fail closed.
    throw new Problem(503, 'Service Unavailable', { detail: 'Claiming is unavailable right now; retry shortly.', headers: { 'Retry-After': '5' }, internal: String(err) });
  }
  if (!result.allowed) {
    throw new Problem(429, 'Too Many Requests', {
      detail: `Too many claim attempts from this ${scope === 'ip' ? 'address' : 'user'}; at most ${rule.limit} per ${rule.windowSeconds} s.`,
      headers: { 'Retry-After': String(result.retryAfterSeconds) },
      type: 'urn:gatehouse:problem:rate-limited',
    });
  }
}

/**
 * `POST /api/devices/claim {claimCode}`: the caller claims the device showing the code and becomes its owner. The code
 * must be valid, unexpired and unused, and its device online and unclaimed; it is consumed atomically with the
 * ownership (workers/devices/claim-store.ts), and the device hears `claimed` over its tunnel. Attempts are limited per
 * user and per IP (CLAIM_RATE_LIMIT_PER_USER / _PER_IP); docs/tunnel-protocol.md §17 shows why that makes guessing futile.
 */
export const claimRoutes = new Hono<ApiEnv>().post('/api/devices/claim', ensureUser(), validate('json', claimBody), async (c) => {
  const config = tunnelConfig(c.env);
  const user = c.get('user');
  const ip = clientIp(c);
  if (config.claimPerIp && ip) await takeAttempt(c.env, 'ip', ip, config.claimPerIp);
  if (config.claimPerUser) await takeAttempt(c.env, 'user', user.id, config.claimPerUser);
  const db = database(c.env.DB);
  const { claimCode, orgId } = c.req.valid('json');
  if (orgId) await requireOrg(db, orgId, { kind: 'user', id: user.id, user }); // 404 unless the caller is a member
  const deviceId = await consumeClaimCode(db, { claimCode, userId: user.id, requestId: c.get('requestId'), ...(orgId ? { orgId } : {}) });
  if (!deviceId) throw claimFailed();
  c.get('log').info('device claimed', { deviceId, userId: user.id });
  try {
    await tunnelOf(c.env, deviceId).claimed(user.id);
  } catch (err) {
    // The claim stands; the device learns it from its status the next time it connects.
    c.get('log').warn('claimed device not told', { deviceId, error: err instanceof Error ? err.message : String(err) });
  }
  const row = await findMembership(db, deviceId, user.id);
  if (!row) throw new Error('claimed device has no owner row');
  return c.json(deviceView(row), 200);
});
