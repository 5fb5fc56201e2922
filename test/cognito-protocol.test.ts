import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, rawCall, seedCognitoClient } from './cognito.test-fixture.ts';

/** The awsJson1_1 wire shapes: what the AWS SDKs parse for every error. */
async function expectAwsError(res: Response, type: string, status = 400) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
  expect(res.headers.get('x-amzn-errortype')).toBe(`${type}:`);
  expect(res.headers.get('x-amzn-requestid')).toMatch(/^[\w.:-]+$/);
  const body = (await res.json()) as { __type: string; message: string };
  expect(body.__type).toBe(type);
  expect(typeof body.message).toBe('string');
  return body;
}

describe('Cognito JSON API protocol', () => {
  it('answers an unknown operation, or no X-Amz-Target, with UnknownOperationException', async () => {
    await expectAwsError(await rawCall('DescribeUserPool', '{}'), 'UnknownOperationException');
    const body = await expectAwsError(await rawCall(undefined, '{}'), 'UnknownOperationException');
    expect(body.message).toMatch(/X-Amz-Target/);
    await expectAwsError(await rawCall('__proto__', '{}'), 'UnknownOperationException');
    const other = await exports.default.fetch('http://gatehouse.test/', { method: 'POST', headers: { 'X-Amz-Target': 'DynamoDB_20120810.GetItem', 'Content-Type': 'application/x-amz-json-1.0' }, body: '{}' });
    await expectAwsError(other, 'UnknownOperationException');
  });

  it('answers a body that is not JSON, or not an object, with SerializationException', async () => {
    await expectAwsError(await rawCall('InitiateAuth', '{"AuthFlow":'), 'SerializationException');
    await expectAwsError(await rawCall('InitiateAuth', '[1,2]'), 'SerializationException');
    await expectAwsError(await rawCall('InitiateAuth', '{}', { 'Content-Type': 'text/plain' }), 'SerializationException');
  });

  it('answers a missing or malformed member with InvalidParameterException in AWS wording', async () => {
    const { body } = await call('InitiateAuth', { AuthFlow: 'USER_PASSWORD_AUTH' });
    expect(body).toMatchObject({ __type: 'InvalidParameterException' });
    expect(body.message).toMatch(/^1 validation error detected: Value at 'clientId' failed to satisfy constraint/);
    const flow = await call('InitiateAuth', { AuthFlow: 'CUSTOM_AUTH', ClientId: 'abc' });
    expect(flow.body.__type).toBe('InvalidParameterException');
    expect(flow.body.message).toMatch(/authFlow/);
  });

  it('answers an unknown client with ResourceNotFoundException', async () => {
    const { status, body } = await call('InitiateAuth', { AuthFlow: 'USER_PASSWORD_AUTH', ClientId: 'nosuchclient', AuthParameters: { USERNAME: 'a@example.com', PASSWORD: 'x' } });
    expect(status).toBe(400);
    expect(body).toEqual({ __type: 'ResourceNotFoundException', message: 'User pool client nosuchclient does not exist.' });
  });

  it('serves the API through the Worker entry (exports.default) with a request id and no-store', async () => {
    const { client } = await seedCognitoClient();
    const res = await exports.default.fetch('http://gatehouse.test/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSCognitoIdentityProviderService.InitiateAuth', 'X-Request-Id': 'req-cognito-1' },
      body: JSON.stringify({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: client.id, AuthParameters: { USERNAME: 'nobody@example.com', PASSWORD: 'x' } }),
    });
    const body = await expectAwsError(res, 'NotAuthorizedException');
    expect(body.message).toBe('Incorrect username or password.');
    expect(res.headers.get('x-amzn-requestid')).toBe('req-cognito-1');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses admin operations when no admin access keys are configured (never open)', async () => {
    expect((env as Env & { COGNITO_ADMIN_ACCESS_KEYS?: string }).COGNITO_ADMIN_ACCESS_KEYS ?? '').toBe('');
    const res = await exports.default.fetch('http://gatehouse.test/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSCognitoIdentityProviderService.ListUsers' },
      body: JSON.stringify({ UserPoolId: env.USER_POOL_ID }),
    });
    await expectAwsError(res, 'MissingAuthenticationTokenException');
  });
});
