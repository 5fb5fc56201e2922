import { DEFAULT_PING_INTERVAL_SECONDS, DEFAULT_PING_TIMEOUT_SECONDS } from '../../lib/tunnel/index.ts';
import { parseRateRule, type RateRule } from '../gateway/config.ts';

/**
 * The device tunnel's settings (connect, proxy, claim, device token), parsed once per env from optional vars, so a
 * deployment that sets none gets the defaults below. docs/tunnel-protocol.md and the README explain each one.
 */

/** The vars this module reads, beyond the generated `Env`. */
export type TunnelVars = {
  TUNNEL_RESPONSE_TIMEOUT_SECONDS?: string;
  TUNNEL_PING_INTERVAL_SECONDS?: string;
  TUNNEL_PING_TIMEOUT_SECONDS?: string;
  TUNNEL_DEAD_AFTER_SECONDS?: string;
  DEVICE_TOKEN_TTL_SECONDS?: string;
  CLAIM_CODE_TTL_SECONDS?: string;
  CLAIM_RATE_LIMIT_PER_USER?: string;
  CLAIM_RATE_LIMIT_PER_IP?: string;
};

/** The parsed settings. */
export type TunnelConfig = {
  publicUrl: string;
  /** The `aud` a device JWT must carry at `GET /devices/connect`. */
  connectAudience: string;
  /** Longest silence of the agent before a proxied response head (504, RESET TIMEOUT); its credit for the request body counts as a sign of life. */
  responseTimeoutMs: number;
  /** Heartbeat timing announced to the agent in `config`. */
  pingIntervalSeconds: number;
  pingTimeoutSeconds: number;
  /** A socket silent (no heartbeat, no frame) for this long is closed with 4002 and the device marked offline. */
  deadAfterMs: number;
  /** Lifetime of the device token pushed over the tunnel; it is refreshed after two thirds of it. */
  deviceTokenTtlSeconds: number;
  /** Lifetime of a claim code; a still-unclaimed, connected device gets a fresh one when it runs out. */
  claimCodeTtlSeconds: number;
  claimPerUser: RateRule | null;
  claimPerIp: RateRule | null;
};

const int = (name: string, v: string | undefined, dflt: number, min: number, max: number) => {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return n;
};

const cache = new WeakMap<object, TunnelConfig>();

/** Reads and validates the tunnel vars; a misconfiguration throws with the var's name. */
export function tunnelConfig(env: Env): TunnelConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const vars = env as Env & TunnelVars;
  const publicUrl = env.PUBLIC_URL.replace(/\/+$/, '');
  const pingIntervalSeconds = int('TUNNEL_PING_INTERVAL_SECONDS', vars.TUNNEL_PING_INTERVAL_SECONDS, DEFAULT_PING_INTERVAL_SECONDS, 1, 3600);
  const pingTimeoutSeconds = int('TUNNEL_PING_TIMEOUT_SECONDS', vars.TUNNEL_PING_TIMEOUT_SECONDS, DEFAULT_PING_TIMEOUT_SECONDS, 1, 3600);
  // Two missed heartbeats plus the agent's own timeout: one lost ping never flaps a device offline.
  const deadAfterDefault = 2 * pingIntervalSeconds + pingTimeoutSeconds;
  const config: TunnelConfig = {
    publicUrl,
    connectAudience: `${publicUrl}/devices/connect`,
    responseTimeoutMs: int('TUNNEL_RESPONSE_TIMEOUT_SECONDS', vars.TUNNEL_RESPONSE_TIMEOUT_SECONDS, 30, 1, 600) * 1000,
    pingIntervalSeconds,
    pingTimeoutSeconds,
    deadAfterMs: int('TUNNEL_DEAD_AFTER_SECONDS', vars.TUNNEL_DEAD_AFTER_SECONDS, deadAfterDefault, pingIntervalSeconds + 1, 86_400) * 1000,
    deviceTokenTtlSeconds: int('DEVICE_TOKEN_TTL_SECONDS', vars.DEVICE_TOKEN_TTL_SECONDS, 900, 60, 3600),
    claimCodeTtlSeconds: int('CLAIM_CODE_TTL_SECONDS', vars.CLAIM_CODE_TTL_SECONDS, 1800, 60, 86_400),
    claimPerUser: parseRateRule('CLAIM_RATE_LIMIT_PER_USER', vars.CLAIM_RATE_LIMIT_PER_USER, { limit: 10, windowSeconds: 900 }),
    claimPerIp: parseRateRule('CLAIM_RATE_LIMIT_PER_IP', vars.CLAIM_RATE_LIMIT_PER_IP, { limit: 30, windowSeconds: 900 }),
  };
  cache.set(env, config);
  return config;
}
