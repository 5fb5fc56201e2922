/**
 * The pre-token-generation hook contract, Cognito's (developer guide, "Pre token generation Lambda trigger"): the event
 * an external hook receives, and validation of its answer. A hook written as a Cognito Lambda (Moped's answers V1
 * `claimsOverrideDetails`) works unchanged. The rules for applying an answer live in `pretoken-apply.ts`.
 */
import { z } from 'zod';
import { InvalidHookResponse } from './errors.ts';

export { applyPreTokenResponse } from './pretoken-apply.ts';
export type { PreTokenResult, PreTokenState } from './pretoken-apply.ts';

/** Cognito's `triggerSource` values for this trigger. */
export type PreTokenTriggerSource =
  | 'TokenGeneration_HostedAuth'
  | 'TokenGeneration_Authentication'
  | 'TokenGeneration_RefreshTokens'
  | 'TokenGeneration_AuthenticateDevice'
  | 'TokenGeneration_NewPasswordChallenge';

/** Event version: `1` customises the ID token only, `2` both tokens and the access token's scopes. */
export type PreTokenVersion = '1' | '2';

/** Input of `buildPreTokenEvent`. */
export interface PreTokenEventInput {
  readonly version: PreTokenVersion;
  readonly triggerSource: PreTokenTriggerSource;
  readonly region: string;
  readonly userPoolId: string;
  readonly userName: string;
  readonly clientId: string;
  readonly userAttributes: Readonly<Record<string, string>>;
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
}

/** `request.groupConfiguration`: Gatehouse has no IAM roles, so those fields are always empty. */
export interface GroupConfiguration {
  groupsToOverride: string[];
  iamRolesToOverride: string[];
  preferredRole: string | null;
}

/** The event JSON sent to the hook; `response` holds the null placeholder the hook fills in. */
export type PreTokenEvent = {
  version: PreTokenVersion;
  triggerSource: PreTokenTriggerSource;
  region: string;
  userPoolId: string;
  userName: string;
  callerContext: { awsSdkVersion: string; clientId: string };
  request: { userAttributes: Record<string, string>; groupConfiguration: GroupConfiguration; scopes?: string[] };
  response: { claimsOverrideDetails: null } | { claimsAndScopeOverrideDetails: null };
};

/** What Cognito puts in `callerContext.awsSdkVersion` when the call did not come through an AWS SDK. */
const AWS_SDK_VERSION = 'aws-sdk-unknown-unknown';

/** Builds the Cognito-shaped event; `request.scopes` exists only in V2, as in Cognito's V1 event. */
export function buildPreTokenEvent(input: PreTokenEventInput): PreTokenEvent {
  const groupConfiguration = { groupsToOverride: [...input.groups], iamRolesToOverride: [], preferredRole: null };
  const request = { userAttributes: { ...input.userAttributes }, groupConfiguration };
  return {
    version: input.version,
    triggerSource: input.triggerSource,
    region: input.region,
    userPoolId: input.userPoolId,
    userName: input.userName,
    callerContext: { awsSdkVersion: AWS_SDK_VERSION, clientId: input.clientId },
    request: input.version === '2' ? { ...request, scopes: [...input.scopes] } : request,
    response: input.version === '2' ? { claimsAndScopeOverrideDetails: null } : { claimsOverrideDetails: null },
  };
}

/** A JSON value, as V2 claims may carry (strings, numbers, booleans, arrays and objects). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Claims to add or override and claims to suppress, for one token. */
export interface TokenClaimOverrides {
  readonly claimsToAddOrOverride: Readonly<Record<string, JsonValue>>;
  readonly claimsToSuppress: readonly string[];
}

/** A validated hook answer, V1 and V2 normalised to one shape (`version: null` when it asks for no change). */
export interface PreTokenOverrides {
  readonly version: PreTokenVersion | null;
  readonly idToken: TokenClaimOverrides;
  readonly accessToken: TokenClaimOverrides;
  readonly scopesToAdd: readonly string[];
  readonly scopesToSuppress: readonly string[];
  /** `null` keeps the groups; an array, even empty, replaces `cognito:groups` in both tokens. */
  readonly groupsToOverride: readonly string[] | null;
}

const claimName = z.string().min(1).max(256);
/** RFC 6749 §3.3 scope-token: a scope with a space in it would smuggle in a second scope. */
const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'not an RFC 6749 scope-token');
const groupOverride = z.object({
  groupsToOverride: z.array(z.string().min(1)).nullish(),
  iamRolesToOverride: z.array(z.string()).nullish(),
  preferredRole: z.string().nullish(),
});
// V1 claim values are strings only: Cognito's V1 contract is a string map, and Moped's Hasura claims are a JSON string.
const v1Details = z.object({
  claimsToAddOrOverride: z.record(claimName, z.string()).nullish(),
  claimsToSuppress: z.array(claimName).nullish(),
  groupOverrideDetails: groupOverride.nullish(),
});
const idTokenGeneration = z.object({
  claimsToAddOrOverride: z.record(claimName, z.json()).nullish(),
  claimsToSuppress: z.array(claimName).nullish(),
});
const accessTokenGeneration = idTokenGeneration.extend({
  scopesToAdd: z.array(scopeToken).nullish(),
  scopesToSuppress: z.array(scopeToken).nullish(),
});
const v2Details = z.object({
  idTokenGeneration: idTokenGeneration.nullish(),
  accessTokenGeneration: accessTokenGeneration.nullish(),
  groupOverrideDetails: groupOverride.nullish(),
});
const responseSchema = z
  .object({ claimsOverrideDetails: v1Details.nullish(), claimsAndScopeOverrideDetails: v2Details.nullish() })
  .refine((r) => !(r.claimsOverrideDetails && r.claimsAndScopeOverrideDetails), {
    message: 'both claimsOverrideDetails (V1) and claimsAndScopeOverrideDetails (V2) are set',
  });

type GroupOverride = z.infer<typeof groupOverride> | null | undefined;

/**
 * Cognito: "If you provide an empty or null object in the response, then the groups are suppressed" — so a present
 * `groupOverrideDetails` (even null) replaces the groups, and only an absent one keeps them.
 */
const groupsFrom = (details: GroupOverride): string[] | null =>
  details === undefined ? null : [...new Set(details?.groupsToOverride ?? [])];

const tokenOverrides = (add: Record<string, JsonValue> | null | undefined, suppress: string[] | null | undefined): TokenClaimOverrides => ({
  claimsToAddOrOverride: add ?? {},
  claimsToSuppress: suppress ?? [],
});

const NONE = tokenOverrides(undefined, undefined);

/**
 * Validates a hook's answer: the whole event with `response` filled in (what a Lambda returns), or the `response`
 * object alone. Throws `InvalidHookResponse`, which must fail the sign-in closed.
 */
export function parsePreTokenResponse(json: unknown): PreTokenOverrides {
  const body = typeof json === 'object' && json !== null && 'response' in json ? json.response : json;
  const result = responseSchema.safeParse(body);
  if (!result.success) {
    throw new InvalidHookResponse(result.error.issues.map((issue) => `${['response', ...issue.path].join('.')}: ${issue.message}`));
  }
  const { claimsOverrideDetails: v1, claimsAndScopeOverrideDetails: v2 } = result.data;
  if (v1) {
    return {
      version: '1',
      idToken: tokenOverrides(v1.claimsToAddOrOverride, v1.claimsToSuppress),
      accessToken: NONE,
      scopesToAdd: [],
      scopesToSuppress: [],
      groupsToOverride: groupsFrom(v1.groupOverrideDetails),
    };
  }
  if (v2) {
    const access = v2.accessTokenGeneration;
    return {
      version: '2',
      idToken: tokenOverrides(v2.idTokenGeneration?.claimsToAddOrOverride, v2.idTokenGeneration?.claimsToSuppress),
      accessToken: tokenOverrides(access?.claimsToAddOrOverride, access?.claimsToSuppress),
      scopesToAdd: access?.scopesToAdd ?? [],
      scopesToSuppress: access?.scopesToSuppress ?? [],
      groupsToOverride: groupsFrom(v2.groupOverrideDetails),
    };
  }
  return { version: null, idToken: NONE, accessToken: NONE, scopesToAdd: [], scopesToSuppress: [], groupsToOverride: null };
}
