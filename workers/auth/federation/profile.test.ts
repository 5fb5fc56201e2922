import { describe, expect, it } from 'vitest';
import { parseIdentityProviders, type IdentityProvider } from './config.ts';
import { FederationError } from './errors.ts';
import { admitProfile, mapClaims } from './profile.ts';

const provider = (extra: Record<string, unknown> = {}): IdentityProvider => {
  const [p] = parseIdentityProviders(JSON.stringify([{ name: 'idp', issuer: 'https://idp.example', clientId: 'c', ...extra }]), '{"idp":"s"}');
  if (!p) throw new Error('no provider');
  return p;
};
const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'u-1', iss: 'https://idp.example', email: 'Ada@Example.com', email_verified: true, name: 'Ada', ...extra });

const failure = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof FederationError) return err.kind;
    throw err;
  }
  return 'admitted';
};

describe('mapClaims', () => {
  it('maps upstream claims to local attributes, first present claim winning, strings only', () => {
    const mapped = mapClaims(
      { sub: 's', preferred_username: 'ada@corp.example', email: 'ADA@example.com', xms_edov: true, age: 36, groups: ['a'], picture: '' },
      { email: 'email', preferred_username: 'email', xms_edov: 'email_verified', age: 'custom:age', groups: 'custom:groups', picture: 'picture' },
    );
    expect(mapped).toEqual({ email: 'ada@example.com', emailVerified: true, attributes: { 'custom:age': '36' } });
  });

  it('falls back to the next claim and treats only true (or "true") as verified', () => {
    expect(mapClaims({ sub: 's', upn: 'x@y.example', email_verified: 'true' }, { email: 'email', upn: 'email', email_verified: 'email_verified' })).toMatchObject({ email: 'x@y.example', emailVerified: true });
    expect(mapClaims({ sub: 's', email: 'x@y.example', email_verified: 'yes' }, { email: 'email', email_verified: 'email_verified' }).emailVerified).toBe(false);
    expect(mapClaims({ sub: 's', email: 'x@y.example', email_verified: 1 }, { email: 'email', email_verified: 'email_verified' }).emailVerified).toBe(false);
  });

  it('ignores inherited properties and over-long values', () => {
    expect(mapClaims({ sub: 's', name: 'n'.repeat(3000) }, { name: 'name', toString: 'nickname' }).attributes).toEqual({});
  });
});

describe('admitProfile', () => {
  it('builds the profile with a lower-cased email', () => {
    expect(admitProfile(provider(), claims())).toEqual({ subject: 'u-1', email: 'ada@example.com', emailVerified: true, attributes: { name: 'Ada' } });
  });

  it('requires a usable email', () => {
    expect(failure(() => admitProfile(provider(), claims({ email: undefined })))).toBe('email_missing');
    expect(failure(() => admitProfile(provider(), claims({ email: 'not-an-email' })))).toBe('email_missing');
  });

  it('applies allowedEmailDomains by exact domain', () => {
    const p = provider({ allowedEmailDomains: ['example.com'] });
    expect(failure(() => admitProfile(p, claims()))).toBe('admitted');
    expect(failure(() => admitProfile(p, claims({ email: 'eve@evil.example' })))).toBe('email_domain');
    expect(failure(() => admitProfile(p, claims({ email: 'eve@sub.example.com' })))).toBe('email_domain');
    expect(failure(() => admitProfile(p, claims({ email: 'eve@example.com.evil.example' })))).toBe('email_domain');
  });

  it('refuses an unverified email only under verified_email_required', () => {
    const unverified = claims({ email_verified: false });
    expect(failure(() => admitProfile(provider({ linking: 'never' }), unverified))).toBe('admitted');
    expect(failure(() => admitProfile(provider({ linking: 'verified_email' }), unverified))).toBe('admitted');
    expect(failure(() => admitProfile(provider({ linking: 'verified_email_required' }), unverified))).toBe('email_unverified');
    expect(failure(() => admitProfile(provider({ linking: 'verified_email_required' }), claims({ email_verified: undefined })))).toBe('email_unverified');
    expect(failure(() => admitProfile(provider({ linking: 'verified_email_required' }), claims()))).toBe('admitted');
  });
});
