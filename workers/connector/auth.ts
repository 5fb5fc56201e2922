/**
 * Who may use the connector. By default a caller presents a Gatehouse access token: it is verified against the
 * platform's JWKS (jose createRemoteJWKSet, cached per isolate) and the caller's membership of ORG_ID is checked with
 * the platform (cached for MEMBERSHIP_CACHE_SECONDS). CONNECTOR_AUTH=none turns this off, for a connector reachable
 * only on a private network; it logs a warning.
 */
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { MiddlewareHandler } from 'hono';
import { sha256Hex } from '../../lib/encoding.ts';
import { BearerError, Problem } from '../../lib/errors.ts';
import type { ConnectorEnv } from './env.ts';

const jwksByUrl = new Map<string, JWTVerifyGetKey>();
const memberships = new Map<string, { role: string; until: number }>();
let warned = false;

/** Checks membership with the platform; the caller's role, or undefined when they are not a member. */
async function membership(gatehouseUrl: string, orgId: string, token: string): Promise<string | undefined> {
  const res = await fetch(`${gatehouseUrl}/api/orgs/${encodeURIComponent(orgId)}`, { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) {
    await res.body?.cancel();
    if (res.status >= 500) throw new Problem(502, 'Bad Gateway', { detail: `The platform could not check organisation membership (HTTP ${res.status}).` });
    return undefined;
  }
  const body = (await res.json().catch(() => ({}))) as { role?: unknown };
  return typeof body.role === 'string' ? body.role : undefined;
}

/** The connector's front door. Sets `caller` (`token` is the caller's bearer, relayed by /platform/* and POST /records). */
export const requireCaller = (): MiddlewareHandler<ConnectorEnv> =>
  async function requireCaller(c, next) {
    const { settings } = c.var;
    if (settings.auth === 'none') {
      if (!warned) console.warn(JSON.stringify({ level: 'warn', msg: 'CONNECTOR_AUTH=none: the connector accepts every caller without authentication; use this only on a private network' }));
      warned = true;
      c.set('caller', { subject: null, role: 'none', token: c.req.header('authorization')?.replace(/^Bearer\s+/i, '') || null });
      return next();
    }
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header);
    if (!match?.[1]) throw new BearerError('invalid_request', 'Present a Gatehouse access token: Authorization: Bearer <token>.');
    const token = match[1];
    let jwks = jwksByUrl.get(settings.gatehouseUrl);
    if (!jwks) {
      jwks = createRemoteJWKSet(new URL(`${settings.gatehouseUrl}/.well-known/jwks.json`), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
      jwksByUrl.set(settings.gatehouseUrl, jwks);
    }
    let sub: string;
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer: settings.gatehouseUrl, algorithms: ['RS256'], clockTolerance: 60 });
      if (payload.token_use !== 'access') throw new Error('not an access token');
      sub = payload.sub ?? '';
    } catch (e) {
      throw new BearerError('invalid_token', 'The token is not a valid Gatehouse access token.', { internal: e instanceof Error ? e.message : 'verify failed' });
    }
    const key = await sha256Hex(token);
    const now = Date.now();
    let hit = memberships.get(key);
    if (!hit || hit.until < now) {
      const role = await membership(settings.gatehouseUrl, settings.orgId, token);
      if (!role) throw new Problem(403, 'Forbidden', { detail: 'You are not a member of the organisation this connector serves.', type: 'urn:gatehouse:problem:not-a-member' });
      hit = { role, until: now + settings.membershipCacheSeconds * 1000 };
      if (memberships.size > 10_000) memberships.clear();
      memberships.set(key, hit);
    }
    c.set('caller', { subject: sub, role: hit.role, token });
    return next();
  };

/** 403 unless the caller is an admin or owner of the organisation (or authentication is off). */
export function requireAdmin(role: string): void {
  if (role === 'none' || role === 'admin' || role === 'owner') return;
  throw new Problem(403, 'Forbidden', { detail: `Only organisation admins and owners may do this; your role is ${role}.`, type: 'urn:gatehouse:problem:org-role' });
}
