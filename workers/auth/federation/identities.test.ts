import { describe, expect, it } from 'vitest';
import { buildIdTokenClaims } from '../claims/tokens.ts';
import { identitiesClaim } from './identities.ts';

describe('identitiesClaim', () => {
  it("writes Cognito's shape, oldest link first and primary", () => {
    const claim = identitiesClaim([
      { provider: 'google', subject: '1098', createdAt: 1_700_000_500_000 },
      { provider: 'azuread', subject: 'AbC-123', createdAt: 1_700_000_000_000 },
    ]);
    expect(claim).toEqual([
      { userId: 'AbC-123', providerName: 'azuread', providerType: 'OIDC', issuer: null, primary: 'true', dateCreated: '1700000000000' },
      { userId: '1098', providerName: 'google', providerType: 'OIDC', issuer: null, primary: 'false', dateCreated: '1700000500000' },
    ]);
  });

  it('is empty without links', () => {
    expect(identitiesClaim([])).toEqual([]);
  });
});

describe('the identities claim in an ID token', () => {
  const base = {
    user: { sub: 'u', username: 'azuread_abc-123', email: 'a@b.example', emailVerified: true, groups: [] },
    client: { id: 'client' },
    issuer: 'https://id.example',
    now: 1_700_000_000,
    ttl: 3600,
    authTime: 1_700_000_000,
    ids: { jti: 'j', originJti: 'o', eventId: 'e' },
    hasura: { 'x-hasura-user-id': 'u', 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user'] },
    hasuraFormat: 'json' as const,
  };

  it('appears as a JSON array of objects when the user has links', () => {
    const identities = identitiesClaim([{ provider: 'azuread', subject: 'abc-123', createdAt: 1 }]);
    const claims = buildIdTokenClaims({ ...base, identities });
    expect(claims.identities).toEqual([{ userId: 'abc-123', providerName: 'azuread', providerType: 'OIDC', issuer: null, primary: 'true', dateCreated: '1' }]);
    expect(JSON.parse(JSON.stringify(claims)).identities[0].primary).toBe('true');
  });

  it('is left out for users without links', () => {
    expect('identities' in buildIdTokenClaims({ ...base, identities: [] })).toBe(false);
    expect('identities' in buildIdTokenClaims(base)).toBe(false);
  });
});
