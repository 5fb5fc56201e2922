import type { Context } from 'hono';
import { Problem } from '../../lib/errors.ts';
import type { Logger } from '../middleware/logger.ts';
import { gatewayConfig, type GatewayBindings, type RateRule } from './config.ts';
import type { Principal } from './principal.ts';

/**
 * Per-IP and per-subject rate limits for the gateway and the Client API. A Workers Rate Limiting binding
 * (`IP_RATE_LIMIT`, `SUBJECT_RATE_LIMIT`) is used where one is configured; otherwise the `RATE_LIMITER` Durable Object,
 * which also works under `wrangler dev`. Over the limit: 429 with `Retry-After` (RFC 6585 §4, RFC 9110 §10.2.3).
 * If the limiter itself fails the request goes through (logged): limits protect the service, they must not take it down.
 */

/** What a limit is keyed by. */
export type LimitScope = 'ip' | 'subject';

/** The outcome of one check: allowed, or refused with the seconds to wait. */
export type LimitOutcome = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Checks one key against a rule with whatever limiter the deployment has; undefined when it has none. */
export async function checkLimit(env: Env, scope: LimitScope, key: string, rule: RateRule): Promise<LimitOutcome | undefined> {
  const vars = env as GatewayBindings;
  const binding = scope === 'ip' ? vars.IP_RATE_LIMIT : vars.SUBJECT_RATE_LIMIT;
  if (binding) {
    // The binding's own limit and period are set in wrangler.toml; it does not say when to retry, so the window does.
    const { success } = await binding.limit({ key });
    return success ? { allowed: true } : { allowed: false, retryAfterSeconds: rule.windowSeconds };
  }
  const ns = (env as Env & { RATE_LIMITER?: Env['RATE_LIMITER'] }).RATE_LIMITER;
  if (!ns) return undefined;
  const result = await ns.getByName(`${scope}:${key}`).take(rule.limit, rule.windowSeconds);
  return result.allowed ? { allowed: true } : { allowed: false, retryAfterSeconds: result.retryAfterSeconds };
}

/** The client's address as Cloudflare reports it; undefined outside Cloudflare's edge (nothing to key on). */
export const clientIp = (c: Context): string | undefined => c.req.header('cf-connecting-ip') || undefined;

async function enforce(env: Env, log: Logger | undefined, scope: LimitScope, key: string, rule: RateRule): Promise<void> {
  let outcome: LimitOutcome | undefined;
  try {
    outcome = await checkLimit(env, scope, key, rule);
  } catch (err) {
    log?.warn('rate limiter unavailable', { scope, error: err instanceof Error ? err.message : String(err) });
    return;
  }
  if (outcome && !outcome.allowed) {
    throw new Problem(429, 'Too Many Requests', {
      detail: `Too many requests from this ${scope === 'ip' ? 'address' : 'user'}; at most ${rule.limit} per ${rule.windowSeconds} s.`,
      headers: { 'Retry-After': String(outcome.retryAfterSeconds) },
      type: 'urn:gatehouse:problem:rate-limited',
    });
  }
}

/** Throws a 429 problem when the client IP is over `RATE_LIMIT_PER_IP` (no-op without an IP or a rule). */
export async function enforceIpLimit(env: Env, ip: string | undefined, log?: Logger): Promise<void> {
  const rule = gatewayConfig(env).perIp;
  if (rule && ip) await enforce(env, log, 'ip', ip, rule);
}

/** Throws a 429 problem when the principal is over `RATE_LIMIT_PER_SUBJECT`. */
export async function enforceSubjectLimit(env: Env, principal: Principal, log?: Logger): Promise<void> {
  const rule = gatewayConfig(env).perSubject;
  if (rule) await enforce(env, log, 'subject', `${principal.issuer}|${principal.subject}`, rule);
}
