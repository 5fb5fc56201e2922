import { describe, expect, it } from 'vitest';
import { CLAIMS_PUBLIC_MESSAGE, NoRolesError } from './errors.ts';
import { HASURA_NAMESPACE, buildHasuraClaims, encodeHasuraClaims } from './hasura.ts';

const USER = '3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f';
const groupRoleMap = { admins: 'admin', staff: 'user', readers: 'viewer' };

/** The shape of a Moped DynamoDB claims item, as decrypted from its Fernet token. */
const mopedStored = {
  'x-hasura-user-id': 'a1b2c3d4-0000-4000-8000-000000000001',
  'x-hasura-default-role': 'user',
  'x-hasura-allowed-roles': ['user', 'manager'],
  'x-hasura-user-db-id': 42,
  'x-hasura-user-workgroup-id': 7,
};

describe('buildHasuraClaims', () => {
  it('uses stored claims as they are (Moped), stringifying numeric session variables', () => {
    const claims = buildHasuraClaims({ userId: USER, stored: mopedStored, groups: ['admins'], groupRoleMap, defaultRole: 'admin' });
    expect(claims).toEqual({
      'x-hasura-user-id': 'a1b2c3d4-0000-4000-8000-000000000001',
      'x-hasura-default-role': 'user',
      'x-hasura-allowed-roles': ['user', 'manager'],
      'x-hasura-user-db-id': '42',
      'x-hasura-user-workgroup-id': '7',
    });
  });

  it('fills what stored claims lack: user id from the user, default role from configuration or the first role', () => {
    const stored = { 'x-hasura-allowed-roles': ['editor', 'viewer'], 'X-Hasura-Org-Id': 'org-9', email: 'ignored@example.com' };
    expect(buildHasuraClaims({ userId: USER, stored, groups: [], groupRoleMap, defaultRole: 'viewer' })).toEqual({
      'x-hasura-user-id': USER,
      'x-hasura-default-role': 'viewer',
      'x-hasura-allowed-roles': ['editor', 'viewer'],
      'x-hasura-org-id': 'org-9',
    });
    expect(buildHasuraClaims({ userId: USER, stored, groups: [], groupRoleMap, defaultRole: 'admin' })['x-hasura-default-role']).toBe('editor');
  });

  it('turns other stored value types into Hasura session-variable strings', () => {
    const stored = {
      'x-hasura-allowed-roles': ['user', 3],
      'x-hasura-flag': true,
      'x-hasura-ids': [1, 2, 'a"b'],
      'x-hasura-meta': { tier: 'gold' },
      'x-hasura-gone': null,
    };
    expect(buildHasuraClaims({ userId: USER, stored, groups: [], groupRoleMap })).toEqual({
      'x-hasura-user-id': USER,
      'x-hasura-default-role': 'user',
      'x-hasura-allowed-roles': ['user', '3'],
      'x-hasura-flag': 'true',
      'x-hasura-ids': '{"1","2","a\\"b"}',
      'x-hasura-meta': '{"tier":"gold"}',
    });
  });

  it('derives roles from groups when there are no stored claims, skipping unmapped groups', () => {
    const claims = buildHasuraClaims({
      userId: USER,
      stored: null,
      groups: ['staff', 'unknown', 'admins', 'staff'],
      groupRoleMap,
      defaultRole: 'admin',
    });
    expect(claims).toEqual({
      'x-hasura-user-id': USER,
      'x-hasura-default-role': 'admin',
      'x-hasura-allowed-roles': ['user', 'admin'],
    });
  });

  it('falls back to the first derived role when the configured default is not allowed', () => {
    const claims = buildHasuraClaims({ userId: USER, stored: null, groups: ['readers'], groupRoleMap, defaultRole: 'admin' });
    expect(claims['x-hasura-default-role']).toBe('viewer');
    expect(claims['x-hasura-allowed-roles']).toEqual(['viewer']);
  });

  it('throws NoRolesError when no role results', () => {
    const attempt = () => buildHasuraClaims({ userId: USER, stored: null, groups: ['unknown'], groupRoleMap, defaultRole: 'user' });
    expect(attempt).toThrow(NoRolesError);
    try {
      attempt();
    } catch (error) {
      expect(error).toBeInstanceOf(NoRolesError);
      expect((error as NoRolesError).userId).toBe(USER);
      expect((error as NoRolesError).publicMessage).toBe(CLAIMS_PUBLIC_MESSAGE);
    }
  });

  it('lets stored claims with an empty role list win over groups, so sign-in fails', () => {
    const stored = { 'x-hasura-allowed-roles': [] };
    expect(() => buildHasuraClaims({ userId: USER, stored, groups: ['admins'], groupRoleMap })).toThrow(NoRolesError);
  });
});

describe('encodeHasuraClaims', () => {
  const claims = buildHasuraClaims({ userId: USER, stored: mopedStored, groups: [], groupRoleMap });

  it('stringifies for claims_format stringified_json', () => {
    expect(HASURA_NAMESPACE).toBe('https://hasura.io/jwt/claims');
    expect(encodeHasuraClaims(claims, 'stringified_json')).toBe(
      '{"x-hasura-user-id":"a1b2c3d4-0000-4000-8000-000000000001","x-hasura-default-role":"user",' +
        '"x-hasura-allowed-roles":["user","manager"],"x-hasura-user-db-id":"42","x-hasura-user-workgroup-id":"7"}',
    );
  });

  it('returns an independent object for claims_format json', () => {
    const encoded = encodeHasuraClaims(claims, 'json');
    expect(encoded).toEqual(claims);
    expect(encoded).not.toBe(claims);
    expect(encoded['x-hasura-allowed-roles']).not.toBe(claims['x-hasura-allowed-roles']);
  });
});
