import { describe, expect, it } from 'vitest';
import { DEFAULT_ATTRIBUTE_MAPPING, isSafeUpstreamUrl, parseIdentityProviders } from './config.ts';

const entra = { name: 'azuread', issuer: 'https://login.microsoftonline.com/0f1e2d3c-0000-4000-8000-000000000000/v2.0', clientId: 'app-id' };
const parse = (providers: unknown, secrets: unknown = { azuread: 's3cret' }) => parseIdentityProviders(JSON.stringify(providers), JSON.stringify(secrets));

describe('parseIdentityProviders', () => {
  it('reads nothing when both values are unset or empty', () => {
    expect(parseIdentityProviders(undefined, undefined)).toEqual([]);
    expect(parseIdentityProviders('', '')).toEqual([]);
    expect(parseIdentityProviders('[]', '{}')).toEqual([]);
  });

  it('fills the defaults and attaches the secret', () => {
    const [p] = parse([entra]);
    expect(p).toEqual({
      ...entra,
      scopes: ['openid', 'email', 'profile'],
      attributeMapping: DEFAULT_ATTRIBUTE_MAPPING,
      linking: 'never',
      displayName: 'azuread',
      clientSecret: 's3cret',
    });
  });

  it('keeps explicit settings and lower-cases the allowed domains', () => {
    const [p] = parse([{ ...entra, displayName: 'Microsoft', linking: 'verified_email_required', allowedEmailDomains: ['Example.COM'], attributeMapping: { upn: 'email', xms_edov: 'email_verified' }, scopes: ['openid', 'email'] }]);
    expect(p?.displayName).toBe('Microsoft');
    expect(p?.linking).toBe('verified_email_required');
    expect(p?.allowedEmailDomains).toEqual(['example.com']);
    expect(p?.attributeMapping).toEqual({ upn: 'email', xms_edov: 'email_verified' });
  });

  it('allows a public upstream client without a secret only when it says so', () => {
    expect(() => parse([entra], {})).toThrow('IDENTITY_PROVIDER_SECRETS has no client secret for azuread');
    expect(parse([{ ...entra, tokenEndpointAuthMethod: 'none' }], {})[0]?.clientSecret).toBeUndefined();
  });

  it.each([
    [[{ ...entra, name: 'azure_ad' }], 'IDENTITY_PROVIDERS is invalid: 0.name: must be 1-32 letters'],
    [[{ ...entra, name: 'Cognito' }], '0.name: COGNITO names the user pool itself'],
    [[{ ...entra, issuer: 'http://idp.example' }], '0.issuer: must be an https URL'],
    [[{ ...entra, scopes: ['email'] }], '0.scopes: must include openid'],
    [[{ ...entra, linking: 'always' }], '0.linking'],
    [[{ ...entra, attributeMapping: { email: 'password' } }], '0.attributeMapping.email: is not a local attribute'],
    [[{ ...entra, allowedEmailDomains: ['@example.com'] }], '0.allowedEmailDomains.0: must be a domain name'],
    [[{ ...entra, clientSecret: 'inline' }], 'Unrecognized key'],
    [[entra, entra], 'IDENTITY_PROVIDERS names azuread twice'],
    [{ name: 'x' }, 'IDENTITY_PROVIDERS is invalid: (root)'],
  ])('refuses %j with a clear message', (providers, message) => {
    expect(() => parse(providers)).toThrow(message);
  });

  it('refuses bad JSON and secrets for providers that do not exist, without echoing values', () => {
    expect(() => parseIdentityProviders('[{', '{}')).toThrow('IDENTITY_PROVIDERS is not valid JSON');
    expect(() => parseIdentityProviders('[]', '{"a":')).toThrow('IDENTITY_PROVIDER_SECRETS is not valid JSON');
    expect(() => parse([entra], { azuread: 's3cret', google: 'other-secret' })).toThrow('names providers that IDENTITY_PROVIDERS does not: google');
    let message = '';
    try {
      parse([entra], { azuread: 42 });
    } catch (err) {
      message = err instanceof Error ? err.message : '';
    }
    expect(message).toContain('IDENTITY_PROVIDER_SECRETS is invalid: azuread');
    expect(message).not.toContain('42');
  });
});

describe('isSafeUpstreamUrl', () => {
  it('accepts https anywhere and http only on loopback', () => {
    expect(isSafeUpstreamUrl('https://accounts.google.com')).toBe(true);
    expect(isSafeUpstreamUrl('http://127.0.0.1:8080')).toBe(true);
    expect(isSafeUpstreamUrl('http://localhost:8080/x')).toBe(true);
    expect(isSafeUpstreamUrl('http://10.0.0.1')).toBe(false);
    expect(isSafeUpstreamUrl('ftp://idp.example')).toBe(false);
    expect(isSafeUpstreamUrl('not a url')).toBe(false);
  });
});
