import type { MiddlewareHandler } from 'hono';
import { BearerError } from '../../lib/errors.ts';
import { bearerToken } from '../auth/verify.ts';
import { database } from '../db.ts';
import type { Logger } from '../middleware/logger.ts';
import { gatewayConfig } from './config.ts';
import type { GatewayEnv, Principal } from './principal.ts';
import { clientIp, enforceIpLimit, enforceSubjectLimit } from './rate-limit.ts';
import { assertNotRevoked, requireScopes, verifyBearer } from './verify-token.ts';

/** Options of `authenticate()`. */
export type AuthenticateOptions = {
  /** `user` refuses client_credentials tokens (403 insufficient_scope): the route acts for a person. */
  kind?: 'user' | 'any';
  /** Scopes an access token must carry, on top of `API_REQUIRED_SCOPES`. */
  scopes?: string[];
};

/** Verifies a token and checks it may call the route, without revocation (see `authenticateToken`). */
async function verifyFor(env: Env, token: string, opts: AuthenticateOptions): Promise<Principal> {
  const config = gatewayConfig(env);
  const principal = await verifyBearer(env, config, token);
  requireScopes(principal, [...config.requiredScopes, ...(opts.scopes ?? [])]);
  if (opts.kind === 'user' && principal.kind !== 'user') throw new BearerError('insufficient_scope', 'This API acts for a user; a client token cannot call it.');
  return principal;
}

/** Authenticates a bearer token (revocation included) and checks it may call the route. */
export async function authenticateToken(env: Env, token: string, opts: AuthenticateOptions = {}): Promise<Principal> {
  const principal = await verifyFor(env, token, opts);
  await assertNotRevoked(database(env.DB), principal, gatewayConfig(env).revocationCacheSeconds);
  return principal;
}

/** The first failure of settled checks, in the order given (so a rate limit wins over what it protects). */
function firstFailure(results: PromiseSettledResult<unknown>[]): void {
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/**
 * The front door of the gateway and the Client API: per-IP limit, bearer verification, revocation and per-subject
 * limit. The independent steps run side by side (the limiter calls and the revocation read are each a round trip);
 * failures keep their precedence: 429 per IP, then 401/403 for the token, then 429 per subject.
 */
export async function admit(env: Env, input: { authorization: string | undefined; ip: string | undefined; log?: Logger | undefined }, opts: AuthenticateOptions = {}): Promise<Principal> {
  const [ipLimit, verified] = await Promise.allSettled([enforceIpLimit(env, input.ip, input.log), (async () => verifyFor(env, bearerToken(input.authorization), opts))()]);
  firstFailure([ipLimit, verified]);
  const principal = (verified as PromiseFulfilledResult<Principal>).value;
  firstFailure(await Promise.allSettled([assertNotRevoked(database(env.DB), principal, gatewayConfig(env).revocationCacheSeconds), enforceSubjectLimit(env, principal, input.log)]));
  return principal;
}

/**
 * Requires `Authorization: Bearer <id or access token>` (RFC 6750 §2.1) within the rate limits and sets `principal`.
 * Missing, malformed, expired or revoked tokens get 401 `invalid_token`; tokens that may not call the route get 403
 * `insufficient_scope`; too many requests get 429.
 */
export const authenticate = (opts: AuthenticateOptions = {}): MiddlewareHandler<GatewayEnv> =>
  async function authenticate(c, next) {
    c.set('principal', await admit(c.env, { authorization: c.req.header('authorization'), ip: clientIp(c), log: c.get('log') }, opts));
    return next();
  };
