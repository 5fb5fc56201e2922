import { describe, expect, it } from 'vitest';
import { buildHasuraClaims } from './hasura.ts';
import { applyPreTokenResponse, parsePreTokenResponse } from './pretoken.ts';
import type { PreTokenState } from './pretoken.ts';
import { buildAccessTokenClaims, buildIdTokenClaims } from './tokens.ts';

const NOW = 1_750_000_000;
const NS = 'https://hasura.io/jwt/claims';
const user = { sub: 'u-1', username: 'alice@example.com', email: 'alice@example.com', emailVerified: true, groups: ['staff'] };
const hasura = buildHasuraClaims({ userId: 'u-1', stored: null, groups: ['staff'], groupRoleMap: { staff: 'user' } });
const common = { user, client: { id: 'client-abc' }, issuer: 'https://auth.example.com', now: NOW, ttl: 3600, authTime: NOW };
const idClaims = buildIdTokenClaims({ ...common, ids: { jti: 'id-jti', originJti: 'o-1', eventId: 'e-1' }, hasura, hasuraFormat: 'stringified_json' });
const accessClaims = buildAccessTokenClaims({
  ...common,
  ids: { jti: 'at-jti', originJti: 'o-1', eventId: 'e-1' },
  scope: ['openid', 'email', 'profile'],
  hasura,
  hasuraFormat: 'stringified_json',
  includeHasuraInAccess: true,
});
const state: PreTokenState = { idClaims, accessClaims, scopes: ['openid', 'email', 'profile'], groups: ['staff'] };

const v1 = (details: Record<string, unknown>) => parsePreTokenResponse({ response: { claimsOverrideDetails: details } });
const v2 = (details: Record<string, unknown>) => parsePreTokenResponse({ response: { claimsAndScopeOverrideDetails: details } });

describe('applyPreTokenResponse', () => {
  it("puts Moped's stringified Hasura claims into the ID token as that exact string, leaving the access token alone", () => {
    const mopedClaims =
      '{"x-hasura-user-id":"a1b2c3d4","x-hasura-default-role":"user","x-hasura-allowed-roles":["user","manager"],' +
      '"x-hasura-user-db-id":"42","x-hasura-user-workgroup-id":"7"}';
    const result = applyPreTokenResponse(state, v1({ claimsToAddOrOverride: { [NS]: mopedClaims } }));
    expect(result.idClaims[NS]).toBe(mopedClaims);
    expect(result.idClaims).toEqual({ ...idClaims, [NS]: mopedClaims });
    expect(result.accessClaims).toEqual(accessClaims);
    expect(result.scopes).toEqual(['openid', 'email', 'profile']);
    expect(result.groups).toEqual(['staff']);
  });

  it('lets suppression beat add/override', () => {
    const result = applyPreTokenResponse(state, v1({ claimsToAddOrOverride: { email: 'x@example.com', tier: 'gold' }, claimsToSuppress: ['email'] }));
    expect(Object.keys(result.idClaims)).not.toContain('email');
    expect(result.idClaims['tier']).toBe('gold');
  });

  it('ignores attempts to change or suppress protected claims, and still applies the rest', () => {
    const result = applyPreTokenResponse(
      state,
      v1({
        claimsToAddOrOverride: { sub: 'attacker', iss: 'https://evil.example', token_use: 'access', 'cognito:groups': 'admins', aud: 'x', tier: 'gold' },
        claimsToSuppress: ['exp', 'nonce', 'jti', 'cognito:username', 'event_id'],
      }),
    );
    expect(result.idClaims).toEqual({ ...idClaims, tier: 'gold' });
    expect(result.idClaims['sub']).toBe('u-1');
    expect(result.idClaims['iss']).toBe('https://auth.example.com');
    expect(result.idClaims['token_use']).toBe('id');
    expect(result.idClaims['cognito:groups']).toEqual(['staff']);
  });

  it("protects the access token's own claims in V2, while other access claims change", () => {
    const result = applyPreTokenResponse(
      state,
      v2({
        accessTokenGeneration: {
          claimsToAddOrOverride: { client_id: 'other', scope: 'admin', username: 'root', version: 1, token_use: 'id', tenant: 'acme' },
          claimsToSuppress: ['client_id', 'scope', 'sub', NS],
        },
      }),
    );
    expect(result.accessClaims).toEqual({ ...Object.fromEntries(Object.entries(accessClaims).filter(([k]) => k !== NS)), tenant: 'acme' });
    expect(result.idClaims).toEqual(idClaims);
  });

  it('applies V2 lists to each token separately, with JSON values', () => {
    const result = applyPreTokenResponse(
      state,
      v2({
        idTokenGeneration: { claimsToAddOrOverride: { plan: 'pro' }, claimsToSuppress: ['email'] },
        accessTokenGeneration: { claimsToAddOrOverride: { tenant: { id: 7, regions: ['eu'] } } },
      }),
    );
    expect(result.idClaims['plan']).toBe('pro');
    expect(result.idClaims['tenant']).toBeUndefined();
    expect('email' in result.idClaims).toBe(false);
    expect(result.accessClaims['tenant']).toEqual({ id: 7, regions: ['eu'] });
    expect(result.accessClaims['plan']).toBeUndefined();
    expect(result.accessClaims['email']).toBeUndefined();
  });

  it('adds and suppresses V2 scopes, suppression winning, and rewrites the scope claim', () => {
    const result = applyPreTokenResponse(
      state,
      v2({ accessTokenGeneration: { scopesToAdd: ['api/read', 'email', 'api/write'], scopesToSuppress: ['profile', 'api/write'] } }),
    );
    expect(result.scopes).toEqual(['openid', 'email', 'api/read']);
    expect(result.accessClaims['scope']).toBe('openid email api/read');
    expect(result.idClaims).toEqual(idClaims);
  });

  it('replaces cognito:groups in both tokens through groupOverrideDetails, and removes it when emptied', () => {
    const replaced = applyPreTokenResponse(state, v1({ groupOverrideDetails: { groupsToOverride: ['auditors', 'admins'] } }));
    expect(replaced.groups).toEqual(['auditors', 'admins']);
    expect(replaced.idClaims['cognito:groups']).toEqual(['auditors', 'admins']);
    expect(replaced.accessClaims['cognito:groups']).toEqual(['auditors', 'admins']);

    const emptied = applyPreTokenResponse(state, v2({ groupOverrideDetails: null }));
    expect(emptied.groups).toEqual([]);
    expect('cognito:groups' in emptied.idClaims).toBe(false);
    expect('cognito:groups' in emptied.accessClaims).toBe(false);
  });

  it('keeps scalar-only ID claims scalar (Cognito forbids complex email_verified, address, …)', () => {
    const result = applyPreTokenResponse(
      state,
      v2({ idTokenGeneration: { claimsToAddOrOverride: { email_verified: { yes: true }, address: ['x'], updated_at: 1700000000 } } }),
    );
    expect(result.idClaims['email_verified']).toBe(true);
    expect('address' in result.idClaims).toBe(false);
    expect(result.idClaims['updated_at']).toBe(1700000000);
  });

  it('changes nothing for an answer without overrides, and never mutates its input', () => {
    const before = structuredClone(state);
    const result = applyPreTokenResponse(state, parsePreTokenResponse({ response: { claimsOverrideDetails: null } }));
    expect(result).toEqual({ idClaims, accessClaims, scopes: state.scopes, groups: state.groups });
    applyPreTokenResponse(state, v1({ claimsToAddOrOverride: { email: 'x' }, groupOverrideDetails: { groupsToOverride: [] } }));
    expect(state).toEqual(before);
  });
});
