import type { JWTPayload } from 'jose';
import type { AppEnv } from '../app-env.ts';
import { HASURA_NAMESPACE } from '../auth/claims/hasura.ts';

/** The Hasura session a token grants: its user id, default role and allowed roles. */
export type HasuraSession = { userId: string | undefined; defaultRole: string | undefined; allowedRoles: string[] };

/** Who a verified bearer token speaks for. */
export type Principal = {
  /** `own` for tokens this platform issued, else the trusted issuer's URL. */
  issuer: string;
  own: boolean;
  /** The `sub`: a user id for own user tokens, a client id for client_credentials tokens. */
  subject: string;
  /** `user` unless the token is a client_credentials token (no user behind it). */
  kind: 'user' | 'client';
  tokenUse: 'access' | 'id' | undefined;
  clientId: string | undefined;
  scopes: string[];
  email: string | undefined;
  hasura: HasuraSession | null;
  /** The sign-in's token family (`origin_jti`), checked against revocations. */
  familyId: string | undefined;
  /** When the token expires, seconds since the epoch. */
  expiresAt: number;
};

/** The Hono env of routes behind `authenticate()`: the app's env plus the verified principal. */
export type GatewayEnv = { Bindings: AppEnv['Bindings']; Variables: AppEnv['Variables'] & { principal: Principal } };

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Reads the Hasura namespace claim, whether stringified JSON or an object; null when absent or unreadable. */
export function hasuraSession(payload: JWTPayload): HasuraSession | null {
  let raw: unknown = payload[HASURA_NAMESPACE];
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      return null;
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const claims = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v as unknown]));
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    userId: text(claims['x-hasura-user-id']),
    defaultRole: text(claims['x-hasura-default-role']),
    allowedRoles: strings(claims['x-hasura-allowed-roles']),
  };
}

/** Builds the principal of a verified token. */
export function principalOf(payload: JWTPayload & Record<string, unknown>, issuer: { own: boolean; url: string }): Principal {
  const tokenUse = payload.token_use === 'access' || payload.token_use === 'id' ? payload.token_use : undefined;
  const clientId = typeof payload.client_id === 'string' ? payload.client_id : typeof payload.azp === 'string' ? payload.azp : undefined;
  // Cognito's client_credentials tokens have sub = client_id and no username; user tokens always carry one.
  const isClient = issuer.own && tokenUse === 'access' && payload.username === undefined && payload.sub === clientId;
  const scope = typeof payload.scope === 'string' ? payload.scope : typeof payload.scp === 'string' ? payload.scp : '';
  return {
    issuer: issuer.own ? 'own' : issuer.url,
    own: issuer.own,
    subject: payload.sub ?? '',
    kind: isClient ? 'client' : 'user',
    tokenUse,
    clientId,
    scopes: scope.split(' ').filter(Boolean),
    email: typeof payload.email === 'string' ? payload.email : undefined,
    hasura: hasuraSession(payload),
    familyId: typeof payload.origin_jti === 'string' ? payload.origin_jti : undefined,
    expiresAt: payload.exp ?? 0,
  };
}
