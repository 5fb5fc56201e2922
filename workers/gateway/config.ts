import { z } from 'zod';
import { authConfig } from '../auth/config.ts';

/**
 * The gateway's and Client API's settings, parsed once per env from vars. Every var is optional, so a deployment that
 * sets none gets the defaults below (see README.md, "Gateway & REST API").
 */

/** The vars this module reads, beyond the generated `Env`. */
export type GatewayVars = {
  HASURA_GRAPHQL_URL?: string;
  HASURA_TIMEOUT_MS?: string;
  TRUSTED_ISSUERS?: string;
  API_AUDIENCES?: string;
  API_REQUIRED_SCOPES?: string;
  CLOCK_SKEW_SECONDS?: string;
  REVOCATION_CACHE_SECONDS?: string;
  RATE_LIMIT_PER_SUBJECT?: string;
  RATE_LIMIT_PER_IP?: string;
  ADMIN_ROLES?: string;
  NEW_USER_ROLES?: string;
  AUTHZ_TOKEN_TTL_SECONDS?: string;
};

/** `Env` with the gateway's optional vars and bindings, for code that reads them defensively. */
export type GatewayBindings = Env & GatewayVars & { SUBJECT_RATE_LIMIT?: RateLimit; IP_RATE_LIMIT?: RateLimit };

/** Algorithms accepted from any issuer; `none` and HMAC are never accepted (a public key must verify). */
export const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

const trustedIssuerSchema = z.object({
  issuer: z.url(),
  /** Accepted `aud` (ID tokens, most IdPs' access tokens) or `client_id` (Cognito-style access tokens) values. */
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** Where the keys are; by default read from the issuer's OpenID discovery document. */
  jwksUri: z.url().optional(),
  algorithms: z.array(z.enum(ASYMMETRIC_ALGS)).min(1).default(['RS256', 'ES256']),
  /** A provider name for federated profiles (`<name>_<sub>` usernames, as Cognito names federated users). */
  name: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).optional(),
  /** When set, tokens must carry this `token_use` (Cognito pools); IdPs that have no such claim leave it unset. */
  tokenUse: z.enum(['access', 'id']).optional(),
});

/** One trusted external OpenID Connect issuer. */
export type TrustedIssuer = Omit<z.output<typeof trustedIssuerSchema>, 'audience' | 'name'> & { audience: string[]; name: string };

/** A rate limit: at most `limit` requests per `windowSeconds`. */
export type RateRule = { limit: number; windowSeconds: number };

/** The parsed settings. */
export type GatewayConfig = {
  issuer: string;
  hasuraUrl: string | undefined;
  hasuraTimeoutMs: number;
  trustedIssuers: TrustedIssuer[];
  audiences: string[];
  requiredScopes: string[];
  clockSkewSeconds: number;
  revocationCacheSeconds: number;
  perSubject: RateRule | null;
  perIp: RateRule | null;
  adminRoles: string[];
  newUserRoles: string[];
  authzTokenTtlSeconds: number;
};

const list = (v: string | undefined, dflt: string[]) => {
  const items = (v ?? '').split(/[\s,]+/).filter(Boolean);
  return items.length ? items : dflt;
};
const int = (name: string, v: string | undefined, dflt: number, min: number, max: number) => {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return n;
};

/** Parses `<requests>/<seconds>` (e.g. `600/60`); `off` or `0` disables the limit. */
export function parseRateRule(name: string, v: string | undefined, dflt: RateRule | null): RateRule | null {
  if (v === undefined || v.trim() === '') return dflt;
  if (v === 'off' || v === '0') return null;
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(v);
  const limit = Number(m?.[1]);
  const windowSeconds = Number(m?.[2]);
  if (!m || limit < 1 || windowSeconds < 1 || windowSeconds > 86_400) throw new Error(`${name} must look like <requests>/<seconds>, e.g. 600/60, or be "off"`);
  return { limit, windowSeconds };
}

function parseTrustedIssuers(v: string | undefined): TrustedIssuer[] {
  if (!v?.trim()) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(v);
  } catch {
    throw new Error('TRUSTED_ISSUERS is not JSON');
  }
  const parsed = z.array(trustedIssuerSchema).safeParse(raw);
  if (!parsed.success) throw new Error(`TRUSTED_ISSUERS is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data.map((t) => ({
    ...t,
    issuer: t.issuer.replace(/\/+$/, ''),
    audience: Array.isArray(t.audience) ? t.audience : [t.audience],
    name: t.name ?? new URL(t.issuer).hostname.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 32),
  }));
}

const cache = new WeakMap<object, GatewayConfig>();

/** Reads and validates the gateway vars; a misconfiguration throws with the var's name (a 500 the logs explain). */
export function gatewayConfig(env: Env): GatewayConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const vars = env as GatewayBindings;
  const hasuraUrl = vars.HASURA_GRAPHQL_URL?.trim() || undefined;
  if (hasuraUrl && !/^https?:\/\//.test(hasuraUrl)) throw new Error('HASURA_GRAPHQL_URL must be an http(s) URL');
  const config: GatewayConfig = {
    issuer: authConfig(env).issuer,
    hasuraUrl,
    hasuraTimeoutMs: int('HASURA_TIMEOUT_MS', vars.HASURA_TIMEOUT_MS, 30_000, 100, 300_000),
    trustedIssuers: parseTrustedIssuers(vars.TRUSTED_ISSUERS),
    audiences: list(vars.API_AUDIENCES, []),
    requiredScopes: list(vars.API_REQUIRED_SCOPES, []),
    clockSkewSeconds: int('CLOCK_SKEW_SECONDS', vars.CLOCK_SKEW_SECONDS, 60, 0, 600),
    revocationCacheSeconds: int('REVOCATION_CACHE_SECONDS', vars.REVOCATION_CACHE_SECONDS, 0, 0, 300),
    perSubject: parseRateRule('RATE_LIMIT_PER_SUBJECT', vars.RATE_LIMIT_PER_SUBJECT, { limit: 600, windowSeconds: 60 }),
    perIp: parseRateRule('RATE_LIMIT_PER_IP', vars.RATE_LIMIT_PER_IP, { limit: 1200, windowSeconds: 60 }),
    adminRoles: list(vars.ADMIN_ROLES, ['admin']),
    newUserRoles: list(vars.NEW_USER_ROLES, ['user']),
    authzTokenTtlSeconds: int('AUTHZ_TOKEN_TTL_SECONDS', vars.AUTHZ_TOKEN_TTL_SECONDS, 300, 10, 3600),
  };
  cache.set(env, config);
  return config;
}
