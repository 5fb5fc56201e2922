import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../lib/encoding.ts';
import { CognitoError } from './errors.ts';
import { verifySigV4 } from './sigv4.ts';

/** A request the AWS SDK's own signer (@smithy/signature-v4 with @aws-crypto/sha256-js) signed at a fixed time. */
const SDK = {
  body: '{"UserPoolId":"local-1_gatehouse","Username":"alice@example.com"}',
  now: Date.UTC(2026, 10, 25, 7, 32, 24),
  keys: new Map([['AKIDGATEHOUSETEST01', 'gatehouse-test-secret-key-0123456789']]),
  headers: {
    host: '127.0.0.1:8787',
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': 'AWSCognitoIdentityProviderService.AdminGetUser',
    'x-amz-user-agent': 'aws-sdk-js/3 x',
    'content-length': '65',
    'amz-sdk-invocation-id': '0b8e1a7e-1111-2222-3333-444455556666',
    'amz-sdk-request': 'attempt=1; max=3',
    'user-agent': 'ua',
    'x-amz-date': '20261125T073224Z',
    'x-amz-content-sha256': '364ef585de2aef8bee6caa0d1d2c8bd4425050650053d66bb6cbb84a112e5478',
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIDGATEHOUSETEST01/20261125/local-1/cognito-idp/aws4_request, SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target;x-amz-user-agent, Signature=a4aa6e77dcde3ff4cab76a2ed274e58f2b45b0c3e523e4ffb936cb9dc9e4720f',
  } as Record<string, string>,
};

const request = (headers: Record<string, string> = SDK.headers, body = SDK.body, url = 'http://127.0.0.1:8787/') => ({
  method: 'POST',
  url,
  headers: new Headers(headers),
  body: utf8(body),
});

async function rejection(promise: Promise<unknown>): Promise<CognitoError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(CognitoError);
  return err as CognitoError;
}

describe('SigV4 verification', () => {
  it('accepts a request signed by the AWS SDK signer', async () => {
    expect(await verifySigV4(request(), { keys: SDK.keys, region: 'local-1', now: SDK.now })).toBe('AKIDGATEHOUSETEST01');
  });

  it('accepts the AWS SigV4 test suite get-vanilla vector (service "service")', async () => {
    const headers = new Headers({
      host: 'example.amazonaws.com',
      'x-amz-date': '20150830T123600Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    });
    const keys = new Map([['AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY']]);
    const id = await verifySigV4(
      { method: 'GET', url: 'https://example.amazonaws.com/', headers, body: new Uint8Array(0) },
      { keys, region: 'us-east-1', service: 'service', now: Date.UTC(2015, 7, 30, 12, 36) },
    );
    expect(id).toBe('AKIDEXAMPLE');
  });

  it('refuses a changed body, header, method or path', async () => {
    const opts = { keys: SDK.keys, region: 'local-1', now: SDK.now };
    const { 'x-amz-content-sha256': _, ...noHash } = SDK.headers;
    expect((await rejection(verifySigV4(request(noHash, SDK.body.replace('alice', 'mallory')), opts))).type).toBe('InvalidSignatureException');
    expect((await rejection(verifySigV4(request(SDK.headers, SDK.body.replace('alice', 'mallory')), opts))).type).toBe('InvalidSignatureException');
    expect((await rejection(verifySigV4(request({ ...SDK.headers, 'x-amz-target': 'AWSCognitoIdentityProviderService.AdminDeleteUser' }), opts))).type).toBe('InvalidSignatureException');
    expect((await rejection(verifySigV4(request(SDK.headers, SDK.body, 'http://127.0.0.1:8787/other'), opts))).type).toBe('InvalidSignatureException');
  });

  it('refuses an unknown key, a wrong secret, temporary credentials and no signature at all', async () => {
    const now = SDK.now;
    expect((await rejection(verifySigV4(request(), { keys: new Map(), region: 'local-1', now }))).type).toBe('UnrecognizedClientException');
    expect((await rejection(verifySigV4(request(), { keys: new Map([['AKIDGATEHOUSETEST01', 'another-secret-0123456789']]), region: 'local-1', now }))).type).toBe('InvalidSignatureException');
    expect((await rejection(verifySigV4(request({ ...SDK.headers, 'x-amz-security-token': 'x' }), { keys: SDK.keys, region: 'local-1', now }))).type).toBe('UnrecognizedClientException');
    const { authorization: _, ...unsigned } = SDK.headers;
    expect((await rejection(verifySigV4(request(unsigned), { keys: SDK.keys, region: 'local-1', now }))).type).toBe('MissingAuthenticationTokenException');
    expect((await rejection(verifySigV4(request({ ...SDK.headers, authorization: 'AWS4-HMAC-SHA256 nonsense' }), { keys: SDK.keys, region: 'local-1', now }))).type).toBe('IncompleteSignatureException');
  });

  it('refuses another region or service, and a clock skew beyond 5 minutes', async () => {
    const keys = SDK.keys;
    const region = await rejection(verifySigV4(request(), { keys, region: 'eu-west-1', now: SDK.now }));
    expect(region).toMatchObject({ type: 'InvalidSignatureException', message: 'Credential should be scoped to a valid region.' });
    const service = await rejection(verifySigV4(request(), { keys, region: 'local-1', now: SDK.now, service: 'sts' }));
    expect(service.message).toMatch(/correct service/);
    expect(await verifySigV4(request(), { keys, region: 'local-1', now: SDK.now + 4 * 60_000 })).toBe('AKIDGATEHOUSETEST01');
    expect((await rejection(verifySigV4(request(), { keys, region: 'local-1', now: SDK.now + 6 * 60_000 }))).message).toMatch(/Signature expired/);
    expect((await rejection(verifySigV4(request(), { keys, region: 'local-1', now: SDK.now - 6 * 60_000 }))).message).toMatch(/Signature expired/);
  });
});
