import { describe, expect, it } from 'vitest';
import { InvalidTokenTiming } from './errors.ts';
import type { HasuraClaims } from './hasura.ts';
import { buildAccessTokenClaims, buildClientCredentialsAccessClaims, buildIdTokenClaims } from './tokens.ts';

const ISSUER = 'https://auth.example.com';
const NOW = 1_750_000_000;
const user = {
  sub: '3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f',
  username: 'alice@example.com',
  email: 'alice@example.com',
  emailVerified: true,
  groups: ['staff', 'admins'],
};
const ids = { jti: 'jti-1', originJti: 'origin-1', eventId: 'event-1' };
const hasura: HasuraClaims = {
  'x-hasura-user-id': user.sub,
  'x-hasura-default-role': 'user',
  'x-hasura-allowed-roles': ['user', 'admin'],
};
const hasuraString = `{"x-hasura-user-id":"${user.sub}","x-hasura-default-role":"user","x-hasura-allowed-roles":["user","admin"]}`;

describe('buildIdTokenClaims', () => {
  const base = { user, client: { id: 'client-abc' }, issuer: ISSUER, now: NOW, ttl: 3600, ids, authTime: NOW - 5, hasura };

  it("produces exactly Cognito's ID token claims plus the stringified Hasura namespace", () => {
    const claims = buildIdTokenClaims({ ...base, nonce: 'n-0S6_WzA2Mj', hasuraFormat: 'stringified_json' });
    expect(claims).toStrictEqual({
      sub: user.sub,
      iss: ISSUER,
      aud: 'client-abc',
      token_use: 'id',
      auth_time: NOW - 5,
      iat: NOW,
      exp: NOW + 3600,
      jti: 'jti-1',
      origin_jti: 'origin-1',
      event_id: 'event-1',
      email: 'alice@example.com',
      email_verified: true,
      'cognito:username': 'alice@example.com',
      'cognito:groups': ['staff', 'admins'],
      nonce: 'n-0S6_WzA2Mj',
      'https://hasura.io/jwt/claims': hasuraString,
    });
  });

  it('omits nonce when absent and cognito:groups when empty, as Cognito does; json format embeds an object', () => {
    const claims = buildIdTokenClaims({ ...base, user: { ...user, groups: [] }, hasuraFormat: 'json' });
    expect(Object.keys(claims)).not.toContain('nonce');
    expect(Object.keys(claims)).not.toContain('cognito:groups');
    expect(claims['https://hasura.io/jwt/claims']).toEqual(hasura);
  });

  it('refuses a non-positive or fractional lifetime', () => {
    expect(() => buildIdTokenClaims({ ...base, ttl: 0, hasuraFormat: 'json' })).toThrow(InvalidTokenTiming);
    expect(() => buildIdTokenClaims({ ...base, ttl: 1.5, hasuraFormat: 'json' })).toThrow(InvalidTokenTiming);
    expect(() => buildIdTokenClaims({ ...base, now: NOW + 0.25, hasuraFormat: 'json' })).toThrow(InvalidTokenTiming);
  });
});

describe('buildAccessTokenClaims', () => {
  const base = {
    user,
    client: { id: 'client-abc' },
    issuer: ISSUER,
    now: NOW,
    ttl: 900,
    ids,
    authTime: NOW - 5,
    scope: ['openid', 'email', 'profile', 'email'],
    hasura,
    hasuraFormat: 'stringified_json' as const,
  };

  it("produces exactly Cognito's access token claims, with Hasura claims when configured", () => {
    expect(buildAccessTokenClaims({ ...base, includeHasuraInAccess: true })).toStrictEqual({
      sub: user.sub,
      iss: ISSUER,
      client_id: 'client-abc',
      token_use: 'access',
      scope: 'openid email profile',
      username: 'alice@example.com',
      auth_time: NOW - 5,
      iat: NOW,
      exp: NOW + 900,
      jti: 'jti-1',
      origin_jti: 'origin-1',
      event_id: 'event-1',
      'cognito:groups': ['staff', 'admins'],
      version: 2,
      'https://hasura.io/jwt/claims': hasuraString,
    });
  });

  it('leaves the Hasura namespace out when not configured, and groups out when empty', () => {
    const claims = buildAccessTokenClaims({ ...base, user: { ...user, groups: [] }, includeHasuraInAccess: false });
    expect(Object.keys(claims)).toEqual([
      'sub', 'iss', 'client_id', 'token_use', 'scope', 'username', 'auth_time', 'iat', 'exp', 'jti', 'origin_jti', 'event_id', 'version',
    ]);
  });
});

describe('buildClientCredentialsAccessClaims', () => {
  const base = { client: { id: 'machine-1' }, issuer: ISSUER, now: NOW, ttl: 3600, jti: 'jti-m', scope: ['api/read', 'api/write'] };

  it('uses the client id as sub and carries no user claims', () => {
    expect(buildClientCredentialsAccessClaims({ ...base, hasuraFormat: 'stringified_json' })).toStrictEqual({
      sub: 'machine-1',
      iss: ISSUER,
      client_id: 'machine-1',
      token_use: 'access',
      scope: 'api/read api/write',
      auth_time: NOW,
      iat: NOW,
      exp: NOW + 3600,
      jti: 'jti-m',
      version: 2,
    });
  });

  it('adds Hasura claims stored for the client, in the configured format', () => {
    const machine: HasuraClaims = { 'x-hasura-user-id': 'machine-1', 'x-hasura-default-role': 'service', 'x-hasura-allowed-roles': ['service'] };
    const claims = buildClientCredentialsAccessClaims({ ...base, hasura: machine, hasuraFormat: 'json' });
    expect(claims['https://hasura.io/jwt/claims']).toEqual(machine);
  });
});
