/**
 * ID and access token claim sets in Cognito's exact shape (claims, names, types and the cases where a claim is left
 * out), so Amplify, Hasura and code written against Cognito read them unchanged. See the Cognito developer guide,
 * "Understanding the identity (ID) token" and "Understanding the access token". Signing is done elsewhere.
 */
import { InvalidTokenTiming } from './errors.ts';
import { HASURA_NAMESPACE, encodeHasuraClaims } from './hasura.ts';
import type { HasuraClaims, HasuraClaimsFormat } from './hasura.ts';

/** The Hasura namespace value as it goes into a token: a JSON string or an object, per `claims_format`. */
export type EncodedHasuraClaims = string | HasuraClaims;

/** The signed-in user, as the token builders need them. */
export interface TokenUser {
  readonly sub: string;
  readonly username: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly groups: readonly string[];
}

/** One entry of Cognito's `identities` ID token claim: the user's link to an account at an upstream identity provider. */
export interface CognitoIdentity {
  readonly userId: string;
  readonly providerName: string;
  readonly providerType: string;
  readonly issuer: string | null;
  readonly primary: 'true' | 'false';
  readonly dateCreated: string;
}

/** Per-token identifiers: `originJti` is shared by all tokens of one sign-in (and its refreshes), `eventId` by one event. */
export interface TokenIds {
  readonly jti: string;
  readonly originJti: string;
  readonly eventId: string;
}

/** What every token builder takes: issuer, client, clock (`now`, seconds) and lifetime (`ttl`, seconds). */
interface TokenBase {
  readonly client: { readonly id: string };
  readonly issuer: string;
  readonly now: number;
  readonly ttl: number;
}

/** Input of `buildIdTokenClaims`. */
export interface IdTokenInput extends TokenBase {
  readonly user: TokenUser;
  readonly ids: TokenIds;
  readonly authTime: number;
  readonly nonce?: string;
  readonly hasura: HasuraClaims;
  readonly hasuraFormat: HasuraClaimsFormat;
  /** The user's federated links (see federation/identities.ts); the claim is left out when there are none. */
  readonly identities?: readonly CognitoIdentity[];
}

/** Input of `buildAccessTokenClaims`; `includeHasuraInAccess` is the deployment's choice. */
export interface AccessTokenInput extends TokenBase {
  readonly user: TokenUser;
  readonly ids: TokenIds;
  readonly authTime: number;
  readonly scope: readonly string[];
  readonly hasura: HasuraClaims;
  readonly hasuraFormat: HasuraClaimsFormat;
  readonly includeHasuraInAccess: boolean;
}

/** Input of `buildClientCredentialsAccessClaims`: no user; Hasura claims only if some are stored for the client. */
export interface ClientCredentialsTokenInput extends TokenBase {
  readonly jti: string;
  readonly scope: readonly string[];
  readonly hasura?: HasuraClaims;
  readonly hasuraFormat: HasuraClaimsFormat;
}

/** Claims of a Cognito-shaped ID token. */
export type IdTokenClaims = {
  sub: string;
  iss: string;
  aud: string;
  token_use: 'id';
  auth_time: number;
  iat: number;
  exp: number;
  jti: string;
  origin_jti: string;
  event_id: string;
  email: string;
  email_verified: boolean;
  'cognito:username': string;
  'cognito:groups'?: string[];
  identities?: CognitoIdentity[];
  nonce?: string;
  [HASURA_NAMESPACE]: EncodedHasuraClaims;
};

/** Claims of a Cognito-shaped access token (`version: 2` is what Cognito user pools issue today). */
export type AccessTokenClaims = {
  sub: string;
  iss: string;
  client_id: string;
  token_use: 'access';
  scope: string;
  username?: string;
  auth_time: number;
  iat: number;
  exp: number;
  jti: string;
  origin_jti?: string;
  event_id?: string;
  'cognito:groups'?: string[];
  version: 2;
  [HASURA_NAMESPACE]?: EncodedHasuraClaims;
};

/** `iat` and `exp` (RFC 7519 §4.1.4, §4.1.6) from whole seconds; a non-positive lifetime is a configuration bug. */
function times(now: number, ttl: number): { iat: number; exp: number } {
  if (!Number.isSafeInteger(now) || now < 0) throw new InvalidTokenTiming('now must be whole seconds since the epoch');
  if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new InvalidTokenTiming('ttl must be a positive whole number of seconds');
  return { iat: now, exp: now + ttl };
}

/** Cognito leaves `cognito:groups` out entirely when the user is in no group. */
const groupsClaim = (groups: readonly string[]): { 'cognito:groups'?: string[] } =>
  groups.length > 0 ? { 'cognito:groups': [...new Set(groups)] } : {};

/** RFC 6749 §3.3: a space-separated list, each scope once, in the order granted. */
export const formatScope = (scope: readonly string[]): string => [...new Set(scope)].join(' ');

/** Builds the ID token claims (OpenID Connect Core §2 plus Cognito's claims and the Hasura namespace). */
export function buildIdTokenClaims(input: IdTokenInput): IdTokenClaims {
  const { iat, exp } = times(input.now, input.ttl);
  return {
    sub: input.user.sub,
    iss: input.issuer,
    aud: input.client.id,
    token_use: 'id',
    auth_time: input.authTime,
    iat,
    exp,
    jti: input.ids.jti,
    origin_jti: input.ids.originJti,
    event_id: input.ids.eventId,
    email: input.user.email,
    email_verified: input.user.emailVerified,
    'cognito:username': input.user.username,
    ...groupsClaim(input.user.groups),
    // Cognito puts `identities` in ID tokens only, and only for users with an upstream link.
    ...(input.identities && input.identities.length > 0 ? { identities: [...input.identities] } : {}),
    // OpenID Connect Core §3.1.3.6: the nonce appears only when the authorization request carried one.
    ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
    [HASURA_NAMESPACE]: encodeHasuraClaims(input.hasura, input.hasuraFormat),
  };
}

/** Builds the access token claims of a user sign-in (Cognito's shape; Hasura claims when the deployment wants them). */
export function buildAccessTokenClaims(input: AccessTokenInput): AccessTokenClaims {
  const { iat, exp } = times(input.now, input.ttl);
  return {
    sub: input.user.sub,
    iss: input.issuer,
    client_id: input.client.id,
    token_use: 'access',
    scope: formatScope(input.scope),
    username: input.user.username,
    auth_time: input.authTime,
    iat,
    exp,
    jti: input.ids.jti,
    origin_jti: input.ids.originJti,
    event_id: input.ids.eventId,
    ...groupsClaim(input.user.groups),
    version: 2,
    ...(input.includeHasuraInAccess ? { [HASURA_NAMESPACE]: encodeHasuraClaims(input.hasura, input.hasuraFormat) } : {}),
  };
}

/**
 * Builds a client_credentials access token (RFC 6749 §4.4) as Cognito does for machine clients: `sub` is the client id,
 * `auth_time` is the issue time, and there is no username, group, `origin_jti` or `event_id`.
 */
export function buildClientCredentialsAccessClaims(input: ClientCredentialsTokenInput): AccessTokenClaims {
  const { iat, exp } = times(input.now, input.ttl);
  return {
    sub: input.client.id,
    iss: input.issuer,
    client_id: input.client.id,
    token_use: 'access',
    scope: formatScope(input.scope),
    auth_time: iat,
    iat,
    exp,
    jti: input.jti,
    version: 2,
    ...(input.hasura ? { [HASURA_NAMESPACE]: encodeHasuraClaims(input.hasura, input.hasuraFormat) } : {}),
  };
}
