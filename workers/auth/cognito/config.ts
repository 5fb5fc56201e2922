import { z } from 'zod';
import { poolNameOf } from '../../../lib/srp/verifier.ts';
import { authConfig } from '../config.ts';

/** The optional vars of the Cognito JSON API, read defensively since `wrangler types` may not list them yet. */
type CognitoVars = {
  COGNITO_ADMIN_ACCESS_KEYS?: string;
  COGNITO_AUTH_FLOWS?: string;
  LAZY_MIGRATION_COGNITO_ENDPOINT?: string;
  LAZY_MIGRATION_CLIENT_ID?: string;
  LAZY_MIGRATION_CLIENT_SECRET?: string;
  LAZY_MIGRATION_TIMEOUT_MS?: string;
};

/** Flows InitiateAuth accepts (Cognito's ExplicitAuthFlows, pool-wide here). */
export const AUTH_FLOWS = ['USER_SRP_AUTH', 'USER_PASSWORD_AUTH', 'REFRESH_TOKEN_AUTH'] as const;

/** Where lazy migration checks passwords: the old pool's Cognito API and an app client of it. */
export type LazyMigrationConfig = { endpoint: string; clientId: string; clientSecret: string | undefined; timeoutMs: number };

/** The Cognito API's settings. */
export type CognitoConfig = {
  userPoolId: string;
  region: string;
  poolName: string;
  /** Access key id → secret access key, for SigV4 on the admin operations; empty means admin operations are refused. */
  adminKeys: ReadonlyMap<string, string>;
  /** Why COGNITO_ADMIN_ACCESS_KEYS could not be used, for the logs; admin operations then fail closed. */
  adminKeysProblem: string | undefined;
  authFlows: ReadonlySet<(typeof AUTH_FLOWS)[number]>;
  lazyMigration: LazyMigrationConfig | undefined;
};

const keysSchema = z.record(z.string().regex(/^[A-Z0-9]{16,128}$/, 'access key ids are 16-128 upper-case letters and digits'), z.string().min(16));

function adminKeys(raw: string | undefined): { keys: Map<string, string>; problem: string | undefined } {
  if (!raw?.trim()) return { keys: new Map(), problem: 'COGNITO_ADMIN_ACCESS_KEYS is not set' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { keys: new Map(), problem: 'COGNITO_ADMIN_ACCESS_KEYS is not JSON' };
  }
  const keys = keysSchema.safeParse(parsed);
  if (!keys.success) return { keys: new Map(), problem: `COGNITO_ADMIN_ACCESS_KEYS is invalid: ${keys.error.issues[0]?.message ?? 'bad shape'}` };
  return { keys: new Map(Object.entries(keys.data)), problem: undefined };
}

function authFlows(raw: string | undefined): Set<(typeof AUTH_FLOWS)[number]> {
  if (!raw?.trim()) return new Set(AUTH_FLOWS);
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(AUTH_FLOWS as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`COGNITO_AUTH_FLOWS has unknown flows: ${unknown.join(', ')}`);
  return new Set(names as (typeof AUTH_FLOWS)[number][]);
}

function lazyMigration(vars: CognitoVars): LazyMigrationConfig | undefined {
  const endpoint = vars.LAZY_MIGRATION_COGNITO_ENDPOINT?.trim();
  if (!endpoint) return undefined;
  if (!URL.canParse(endpoint)) throw new Error('LAZY_MIGRATION_COGNITO_ENDPOINT must be an absolute URL');
  const clientId = vars.LAZY_MIGRATION_CLIENT_ID?.trim();
  if (!clientId) throw new Error('LAZY_MIGRATION_CLIENT_ID is required with LAZY_MIGRATION_COGNITO_ENDPOINT');
  const timeout = Number(vars.LAZY_MIGRATION_TIMEOUT_MS || '5000');
  if (!Number.isInteger(timeout) || timeout < 100 || timeout > 30_000) throw new Error('LAZY_MIGRATION_TIMEOUT_MS must be an integer from 100 to 30000');
  return { endpoint, clientId, clientSecret: vars.LAZY_MIGRATION_CLIENT_SECRET || undefined, timeoutMs: timeout };
}

const cache = new WeakMap<object, CognitoConfig>();

/** Reads the Cognito API's vars once per env; a misconfigured optional var throws with its name (a logged 500). */
export function cognitoConfig(env: Env): CognitoConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const vars = env as Env & CognitoVars;
  const auth = authConfig(env);
  const keys = adminKeys(vars.COGNITO_ADMIN_ACCESS_KEYS);
  const config: CognitoConfig = {
    userPoolId: auth.userPoolId,
    region: auth.region,
    poolName: poolNameOf(auth.userPoolId),
    adminKeys: keys.keys,
    adminKeysProblem: keys.problem,
    authFlows: authFlows(vars.COGNITO_AUTH_FLOWS),
    lazyMigration: lazyMigration(vars),
  };
  cache.set(env, config);
  return config;
}
