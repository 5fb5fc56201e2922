import { describe, expect, it } from 'vitest';
import { InvalidHookResponse } from './errors.ts';
import { buildPreTokenEvent, parsePreTokenResponse } from './pretoken.ts';

const eventInput = {
  triggerSource: 'TokenGeneration_HostedAuth',
  region: 'eu-west-1',
  userPoolId: 'eu-west-1_gatehouse',
  userName: 'alice@example.com',
  clientId: 'client-abc',
  userAttributes: { sub: 'u-1', email: 'alice@example.com', email_verified: 'true', 'cognito:user_status': 'CONFIRMED' },
  groups: ['staff'],
  scopes: ['openid', 'email'],
} as const;

const hasuraString = '{"x-hasura-user-id":"u-1","x-hasura-default-role":"user","x-hasura-allowed-roles":["user"],"x-hasura-user-db-id":"42"}';

/** What the Moped Lambda returns: the event it was given, with `response.claimsOverrideDetails` filled in. */
const mopedAnswer = {
  ...buildPreTokenEvent({ ...eventInput, version: '1' }),
  response: { claimsOverrideDetails: { claimsToAddOrOverride: { 'https://hasura.io/jwt/claims': hasuraString } } },
};

function issuesOf(json: unknown): readonly string[] {
  try {
    parsePreTokenResponse(json);
  } catch (error) {
    if (error instanceof InvalidHookResponse) return error.issues;
    throw error;
  }
  throw new Error('expected InvalidHookResponse');
}

describe('buildPreTokenEvent', () => {
  it("builds Cognito's V1 event: no scopes, a claimsOverrideDetails placeholder", () => {
    expect(buildPreTokenEvent({ ...eventInput, version: '1' })).toStrictEqual({
      version: '1',
      triggerSource: 'TokenGeneration_HostedAuth',
      region: 'eu-west-1',
      userPoolId: 'eu-west-1_gatehouse',
      userName: 'alice@example.com',
      callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: 'client-abc' },
      request: {
        userAttributes: { sub: 'u-1', email: 'alice@example.com', email_verified: 'true', 'cognito:user_status': 'CONFIRMED' },
        groupConfiguration: { groupsToOverride: ['staff'], iamRolesToOverride: [], preferredRole: null },
      },
      response: { claimsOverrideDetails: null },
    });
  });

  it("builds Cognito's V2 event: scopes in the request, a claimsAndScopeOverrideDetails placeholder", () => {
    const event = buildPreTokenEvent({ ...eventInput, version: '2', triggerSource: 'TokenGeneration_RefreshTokens' });
    expect(event.version).toBe('2');
    expect(event.triggerSource).toBe('TokenGeneration_RefreshTokens');
    expect(event.request.scopes).toEqual(['openid', 'email']);
    expect(event.response).toStrictEqual({ claimsAndScopeOverrideDetails: null });
    expect(JSON.parse(JSON.stringify(event))).toEqual(event);
  });
});

describe('parsePreTokenResponse', () => {
  it("reads Moped's V1 answer (the whole event returned) with the Hasura claims as a JSON string", () => {
    expect(parsePreTokenResponse(mopedAnswer)).toEqual({
      version: '1',
      idToken: { claimsToAddOrOverride: { 'https://hasura.io/jwt/claims': hasuraString }, claimsToSuppress: [] },
      accessToken: { claimsToAddOrOverride: {}, claimsToSuppress: [] },
      scopesToAdd: [],
      scopesToSuppress: [],
      groupsToOverride: null,
    });
  });

  it('reads a V2 answer given as the bare response object', () => {
    const parsed = parsePreTokenResponse({
      claimsAndScopeOverrideDetails: {
        idTokenGeneration: { claimsToAddOrOverride: { tier: 'gold' }, claimsToSuppress: ['email'] },
        accessTokenGeneration: {
          claimsToAddOrOverride: { tenant: { id: 7, regions: ['eu'] } },
          scopesToAdd: ['api/read'],
          scopesToSuppress: ['profile'],
        },
        groupOverrideDetails: { groupsToOverride: ['auditors', 'auditors'], iamRolesToOverride: [], preferredRole: null },
      },
    });
    expect(parsed).toEqual({
      version: '2',
      idToken: { claimsToAddOrOverride: { tier: 'gold' }, claimsToSuppress: ['email'] },
      accessToken: { claimsToAddOrOverride: { tenant: { id: 7, regions: ['eu'] } }, claimsToSuppress: [] },
      scopesToAdd: ['api/read'],
      scopesToSuppress: ['profile'],
      groupsToOverride: ['auditors'],
    });
  });

  it('treats an untouched event as no change, and a null or empty groupOverrideDetails as "no groups" (Cognito)', () => {
    expect(parsePreTokenResponse(buildPreTokenEvent({ ...eventInput, version: '2' }))).toMatchObject({ version: null, groupsToOverride: null });
    expect(parsePreTokenResponse({ response: { claimsOverrideDetails: { groupOverrideDetails: null } } }).groupsToOverride).toEqual([]);
    expect(parsePreTokenResponse({ response: { claimsOverrideDetails: { groupOverrideDetails: {} } } }).groupsToOverride).toEqual([]);
  });

  it('rejects V1 claim values that are not strings', () => {
    const issues = issuesOf({ response: { claimsOverrideDetails: { claimsToAddOrOverride: { 'x-hasura-user-db-id': 42 } } } });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^response\.claimsOverrideDetails\.claimsToAddOrOverride\.x-hasura-user-db-id: /);
  });

  it('rejects scopes that are not RFC 6749 scope-tokens', () => {
    const issues = issuesOf({ response: { claimsAndScopeOverrideDetails: { accessTokenGeneration: { scopesToAdd: ['read write'] } } } });
    expect(issues).toEqual(['response.claimsAndScopeOverrideDetails.accessTokenGeneration.scopesToAdd.0: not an RFC 6749 scope-token']);
  });

  it('rejects answers that are not objects, mistyped lists, and answers carrying both V1 and V2 details', () => {
    expect(() => parsePreTokenResponse('ok')).toThrow(InvalidHookResponse);
    expect(() => parsePreTokenResponse(null)).toThrow(InvalidHookResponse);
    expect(() => parsePreTokenResponse({ response: null })).toThrow(InvalidHookResponse);
    expect(issuesOf({ response: { claimsOverrideDetails: { claimsToSuppress: 'email' } } })[0]).toMatch(
      /^response\.claimsOverrideDetails\.claimsToSuppress: /,
    );
    expect(issuesOf({ response: { claimsOverrideDetails: { groupOverrideDetails: { groupsToOverride: [1] } } } })[0]).toMatch(
      /^response\.claimsOverrideDetails\.groupOverrideDetails\.groupsToOverride\.0: /,
    );
    expect(issuesOf({ response: { claimsOverrideDetails: {}, claimsAndScopeOverrideDetails: {} } })).toEqual([
      'response: both claimsOverrideDetails (V1) and claimsAndScopeOverrideDetails (V2) are set',
    ]);
  });
});
