import { describe, expect, it } from 'vitest';
import { basicCredentials, tokenAuthMethod } from './exchange.ts';
import { parseIdentityProviders } from './config.ts';
import type { UpstreamMetadata } from './discovery.ts';

const provider = (extra: Record<string, unknown> = {}) =>
  parseIdentityProviders(JSON.stringify([{ name: 'idp', issuer: 'https://idp.example', clientId: 'c', ...extra }]), '{"idp":"s"}')[0]!;
const metadata = (methods?: string[]): UpstreamMetadata => ({
  issuer: 'https://idp.example',
  authorizationEndpoint: 'https://idp.example/authorize',
  tokenEndpoint: 'https://idp.example/token',
  jwksUri: 'https://idp.example/jwks',
  idTokenAlgorithms: ['RS256'],
  tokenEndpointAuthMethods: methods,
});

describe('tokenAuthMethod', () => {
  it('uses the configured method, else basic unless the IdP lists only post', () => {
    expect(tokenAuthMethod(provider({ tokenEndpointAuthMethod: 'client_secret_post' }), metadata(['client_secret_basic']))).toBe('client_secret_post');
    expect(tokenAuthMethod(provider(), metadata())).toBe('client_secret_basic');
    expect(tokenAuthMethod(provider(), metadata(['client_secret_post', 'client_secret_basic']))).toBe('client_secret_basic');
    expect(tokenAuthMethod(provider(), metadata(['client_secret_post', 'private_key_jwt']))).toBe('client_secret_post');
    expect(tokenAuthMethod(provider(), metadata(['none']))).toBe('client_secret_basic');
  });
});

describe('basicCredentials', () => {
  it('form-urlencodes id and secret before base64 (RFC 6749 §2.3.1)', () => {
    expect(basicCredentials('my client', 'p@ss:w/rd')).toBe(`Basic ${btoa('my+client:p%40ss%3Aw%2Frd')}`);
  });
});
