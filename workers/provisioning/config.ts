import { parseAllowList, type AllowList } from './ip-allow.ts';

/** Optional provisioning vars; each has a default, so wrangler.toml may leave any of them out. */
export type ProvisioningVars = {
  OTP_TTL_SECONDS?: string;
  OTP_MAX_TTL_SECONDS?: string;
  CERT_VALIDITY_DAYS?: string;
  CRL_VALIDITY_HOURS?: string;
  PROV_ADMIN_ALLOWED_IPS?: string;
  PROV_ADMIN_MAX_FAILURES?: string;
  PROV_ADMIN_LOCKOUT_SECONDS?: string;
  EST_REENROLL_REVOKES_PREVIOUS?: string;
};

/** The provisioning settings, parsed from vars once per distinct env. */
export type ProvisioningConfig = {
  publicUrl: string;
  /** `<PUBLIC_URL>/pki/crl`: the CRL distribution point put in every certificate (RFC 5280 §4.2.1.13). */
  crlUrl: string;
  otpTtlSeconds: number;
  otpMaxTtlSeconds: number;
  certValidityDays: number;
  crlValidityMs: number;
  adminAllowList: AllowList;
  adminMaxFailures: number;
  adminLockoutSeconds: number;
  /** When true, a successful re-enrolment revokes the certificate it was authenticated with (reason `superseded`). */
  reenrollRevokesPrevious: boolean;
};

const int = (name: string, v: string | undefined, dflt: number, min: number, max: number) => {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return n;
};

const cache = new WeakMap<object, ProvisioningConfig>();

/** Reads and validates the provisioning vars; a misconfiguration throws with the var's name (a 500 the logs explain). */
export function provisioningConfig(env: Env): ProvisioningConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const vars = env as Env & ProvisioningVars;
  const publicUrl = env.PUBLIC_URL.replace(/\/+$/, '');
  const otpMaxTtlSeconds = int('OTP_MAX_TTL_SECONDS', vars.OTP_MAX_TTL_SECONDS, 30 * 86_400, 60, 365 * 86_400);
  const config: ProvisioningConfig = {
    publicUrl,
    crlUrl: `${publicUrl}/pki/crl`,
    otpTtlSeconds: int('OTP_TTL_SECONDS', vars.OTP_TTL_SECONDS, 86_400, 60, otpMaxTtlSeconds),
    otpMaxTtlSeconds,
    certValidityDays: int('CERT_VALIDITY_DAYS', vars.CERT_VALIDITY_DAYS, 90, 1, 825),
    crlValidityMs: int('CRL_VALIDITY_HOURS', vars.CRL_VALIDITY_HOURS, 24, 1, 24 * 30) * 3_600_000,
    adminAllowList: parseAllowList(vars.PROV_ADMIN_ALLOWED_IPS ?? '', 'PROV_ADMIN_ALLOWED_IPS'),
    adminMaxFailures: int('PROV_ADMIN_MAX_FAILURES', vars.PROV_ADMIN_MAX_FAILURES, 10, 1, 10_000),
    adminLockoutSeconds: int('PROV_ADMIN_LOCKOUT_SECONDS', vars.PROV_ADMIN_LOCKOUT_SECONDS, 900, 1, 86_400),
    reenrollRevokesPrevious: vars.EST_REENROLL_REVOKES_PREVIOUS === 'true',
  };
  cache.set(env, config);
  return config;
}
