import { z } from 'zod';
import type { HasuraClaimsFormat } from './claims/hasura.ts';

/** The identity provider's settings, parsed from vars once per distinct env. */
export type AuthConfig = {
  issuer: string;
  publicUrl: string;
  userPoolId: string;
  region: string;
  hasuraFormat: HasuraClaimsFormat;
  hasuraInAccessToken: boolean;
  groupRoleMap: Record<string, string>;
  defaultRole: string | undefined;
  hookUrl: string | undefined;
  hookVersion: '1' | '2';
  hookTimeoutMs: number;
  maxFailures: number;
  lockoutSeconds: number;
  signupEnabled: boolean;
  sessionTtlSeconds: number;
  devMode: boolean;
};

const bool = (v: string | undefined, dflt: boolean) => (v === undefined || v === '' ? dflt : v === 'true' || v === '1');
const int = (name: string, v: string | undefined, dflt: number, min: number, max: number) => {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return n;
};
const stripSlash = (url: string) => url.replace(/\/+$/, '');

const cache = new WeakMap<object, AuthConfig>();

/** Reads and validates the identity vars; a misconfiguration throws with the var's name (a 500 the logs explain). */
export function authConfig(env: Env): AuthConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const poolId = env.USER_POOL_ID || 'local-1_gatehouse';
  if (!/^[\w-]+_[0-9a-zA-Z]+$/.test(poolId)) throw new Error('USER_POOL_ID must look like <region>_<id>');
  const format = env.HASURA_CLAIMS_FORMAT || 'stringified_json';
  if (format !== 'stringified_json' && format !== 'json') throw new Error('HASURA_CLAIMS_FORMAT must be stringified_json or json');
  const map = z.record(z.string(), z.string()).safeParse(JSON.parse(env.GROUP_ROLE_MAP || '{}'));
  if (!map.success) throw new Error('GROUP_ROLE_MAP must be a JSON object of group name to role');
  const hookVersion = env.PRE_TOKEN_HOOK_VERSION || '1';
  if (hookVersion !== '1' && hookVersion !== '2') throw new Error('PRE_TOKEN_HOOK_VERSION must be 1 or 2');
  const config: AuthConfig = {
    issuer: stripSlash(env.ISSUER || env.PUBLIC_URL),
    publicUrl: stripSlash(env.PUBLIC_URL),
    userPoolId: poolId,
    region: poolId.split('_')[0] ?? 'local-1',
    hasuraFormat: format,
    hasuraInAccessToken: bool(env.HASURA_CLAIMS_IN_ACCESS_TOKEN, true),
    groupRoleMap: map.data,
    defaultRole: env.HASURA_DEFAULT_ROLE || undefined,
    hookUrl: env.PRE_TOKEN_HOOK_URL || undefined,
    hookVersion,
    hookTimeoutMs: int('PRE_TOKEN_HOOK_TIMEOUT_MS', env.PRE_TOKEN_HOOK_TIMEOUT_MS, 3000, 100, 30_000),
    maxFailures: int('LOGIN_MAX_FAILURES', env.LOGIN_MAX_FAILURES, 5, 1, 1000),
    lockoutSeconds: int('LOGIN_LOCKOUT_SECONDS', env.LOGIN_LOCKOUT_SECONDS, 900, 1, 86_400),
    signupEnabled: bool(env.SIGNUP_ENABLED, true),
    sessionTtlSeconds: int('SESSION_TTL_SECONDS', env.SESSION_TTL_SECONDS, 86_400, 60, 30 * 86_400),
    devMode: bool(env.DEV_MODE, false),
  };
  cache.set(env, config);
  return config;
}
