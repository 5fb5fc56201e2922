/**
 * Cognito's rules for applying a pre-token hook's answer to the claims about to be signed (developer guide,
 * "Pre token generation Lambda trigger"):
 * - suppression beats add/override ("If a value is both suppressed and replaced, then it will be suppressed");
 * - V1 changes the ID token only; V2 changes each token with its own lists, and the access token's scopes;
 * - `groupOverrideDetails` is the only way to change `cognito:groups`, and it changes both tokens;
 * - protected claims are never added, changed or suppressed. Such entries are dropped silently and the rest of the
 *   answer still applies, so the claim keeps Gatehouse's value. AWS's guide only says these claims "can not" be modified;
 *   dropping rather than failing the sign-in matches what Cognito is reported to do, and cannot weaken a token.
 */
import type { JsonValue, PreTokenOverrides, TokenClaimOverrides } from './pretoken.ts';

/**
 * Claims a hook can never touch, in either token. The list is Cognito's documented "You can not modify the following
 * claims" (awsdocs/amazon-cognito-developer-guide, user-pool-lambda-pre-token-generation.md), plus `event_id`, which
 * Gatehouse protects too because its revocation and audit records key on it.
 */
const PROTECTED = new Set([
  'acr', 'amr', 'aud', 'at_hash', 'auth_time', 'azp', 'cognito:username', 'exp', 'iat', 'identities', 'iss', 'jti', 'nbf',
  'nonce', 'origin_jti', 'sub', 'token_use', 'event_id',
]);

/**
 * Access-token claims that are the token's own bookkeeping in Cognito's V2 documentation: `scope` changes only through
 * `scopesToAdd`/`scopesToSuppress`, the others not at all.
 */
const PROTECTED_IN_ACCESS = new Set(['client_id', 'scope', 'username', 'version', 'device_key']);

/** Cognito reserves the `cognito:` prefix; `cognito:groups` (and IAM role claims) change only via groupOverrideDetails. */
const RESERVED_PREFIX = 'cognito:';

/** Cognito: in the ID token these standard claims take scalar values only, never arrays or objects. */
const SCALAR_ONLY_IN_ID = new Set(['phone_number_verified', 'email_verified', 'updated_at', 'address']);

/** The claims, scopes and groups about to go into the tokens. */
export interface PreTokenState {
  readonly idClaims: Readonly<Record<string, unknown>>;
  readonly accessClaims: Readonly<Record<string, unknown>>;
  readonly scopes: readonly string[];
  readonly groups: readonly string[];
}

/** The same, after the hook's answer: fresh objects, the input is never mutated. */
export interface PreTokenResult {
  idClaims: Record<string, unknown>;
  accessClaims: Record<string, unknown>;
  scopes: string[];
  groups: string[];
}

type TokenKind = 'id' | 'access';

const isProtected = (name: string, kind: TokenKind): boolean =>
  PROTECTED.has(name) || name.startsWith(RESERVED_PREFIX) || (kind === 'access' && PROTECTED_IN_ACCESS.has(name));

const isComplex = (value: JsonValue): boolean => typeof value === 'object' && value !== null;

/** Applies one token's add/override and suppress lists; a Map keeps claim order and treats `__proto__` as a plain key. */
function applyClaims(claims: Readonly<Record<string, unknown>>, overrides: TokenClaimOverrides, kind: TokenKind): Map<string, unknown> {
  const out = new Map<string, unknown>(Object.entries(claims));
  const suppressed = new Set(overrides.claimsToSuppress.filter((name) => !isProtected(name, kind)));
  for (const [name, value] of Object.entries(overrides.claimsToAddOrOverride)) {
    if (isProtected(name, kind) || suppressed.has(name)) continue;
    if (kind === 'id' && SCALAR_ONLY_IN_ID.has(name) && isComplex(value)) continue;
    out.set(name, value);
  }
  for (const name of suppressed) out.delete(name);
  return out;
}

/** Cognito omits `cognito:groups` when there are none. */
function setGroups(claims: Map<string, unknown>, groups: readonly string[]): void {
  if (groups.length > 0) claims.set('cognito:groups', [...groups]);
  else claims.delete('cognito:groups');
}

/** Applies a validated hook answer (`parsePreTokenResponse`) to the tokens' claims, scopes and groups. */
export function applyPreTokenResponse(state: PreTokenState, overrides: PreTokenOverrides): PreTokenResult {
  const id = applyClaims(state.idClaims, overrides.idToken, 'id');
  const access = applyClaims(state.accessClaims, overrides.accessToken, 'access');

  let groups = [...state.groups];
  if (overrides.groupsToOverride !== null) {
    groups = [...overrides.groupsToOverride];
    setGroups(id, groups);
    setGroups(access, groups);
  }

  let scopes = [...state.scopes];
  if (overrides.scopesToAdd.length > 0 || overrides.scopesToSuppress.length > 0) {
    const suppressed = new Set(overrides.scopesToSuppress);
    scopes = [...new Set([...scopes, ...overrides.scopesToAdd])].filter((scope) => !suppressed.has(scope));
    // RFC 6749 §3.3: the access token's scope claim is the space-separated list of what was finally granted.
    if (access.has('scope')) access.set('scope', scopes.join(' '));
  }

  return { idClaims: Object.fromEntries(id), accessClaims: Object.fromEntries(access), scopes, groups };
}
