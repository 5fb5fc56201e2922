/**
 * The Cognito JSON API: `POST /` with `X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>` and an
 * `application/x-amz-json-1.1` body, answered in the awsJson1_1 shapes the AWS SDKs and amazon-cognito-identity-js parse.
 * Errors are caught here, not in the app's onError, because this audience expects `__type` errors, not RFC shapes.
 */
import { Hono, type Context } from 'hono';
import { fromUtf8 } from '../../../lib/encoding.ts';
import type { AppEnv } from '../../app-env.ts';
import { database } from '../../db.ts';
import { createLogger } from '../../middleware/logger.ts';
import { authConfig } from '../config.ts';
import { claimsFernet } from '../mint.ts';
import { cognitoConfig } from './config.ts';
import { CognitoError, cognitoErrorResponse, cognitoJson } from './errors.ts';
import type { CognitoContext } from './operation.ts';
import { OPERATIONS } from './operations.ts';
import { verifySigV4 } from './sigv4.ts';

const TARGET_PREFIX = 'AWSCognitoIdentityProviderService.';
const JSON_TYPES = /^application\/(x-amz-json-1\.[01]|json)\s*(;|$)/i;

async function handle(c: Context<AppEnv>, ctx: Omit<CognitoContext, 'admin'>): Promise<Response> {
  const target = c.req.header('x-amz-target') ?? '';
  const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  const op = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
  if (!op) throw new CognitoError('UnknownOperationException', target ? `Operation ${target} is not supported by Gatehouse.` : 'Missing X-Amz-Target header.');
  if (!JSON_TYPES.test(c.req.header('content-type') ?? '')) throw new CognitoError('SerializationException', 'Content-Type must be application/x-amz-json-1.1.');
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  let body: unknown;
  try {
    body = JSON.parse(bytes.length ? fromUtf8(bytes) : '{}');
  } catch {
    throw new CognitoError('SerializationException', 'The request body is not valid JSON.');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new CognitoError('SerializationException', 'The request body must be a JSON object.');
  let admin: CognitoContext['admin'];
  if (op.admin) {
    if (ctx.cognito.adminKeysProblem) ctx.log.warn('cognito admin operation refused', { op: name, internal: ctx.cognito.adminKeysProblem });
    const keyId = await verifySigV4({ method: c.req.method, url: c.req.url, headers: c.req.raw.headers, body: bytes }, { keys: ctx.cognito.adminKeys, region: ctx.cognito.region });
    admin = { actor: `sigv4:${keyId}`, requestId: ctx.requestId };
  }
  const result = await op.handle({ ...ctx, admin }, body);
  return cognitoJson(result, ctx.requestId);
}

/** `POST /`: the Cognito JSON API sub-app. */
export const cognitoApi = new Hono<AppEnv>().post('/', async (c) => {
  const requestId = c.get('requestId') ?? crypto.randomUUID();
  const log = c.get('log') ?? createLogger({ requestId });
  try {
    const ctx = {
      env: c.env,
      db: database(c.env.DB),
      auth: authConfig(c.env),
      cognito: cognitoConfig(c.env),
      fernet: claimsFernet(c.env),
      log,
      requestId,
      ip: c.req.header('CF-Connecting-IP'),
    };
    return await handle(c, ctx);
  } catch (err) {
    if (err instanceof CognitoError) {
      log.info('cognito error', { type: err.type, ...(err.cause ? { internal: String(err.cause) } : {}) });
      return cognitoErrorResponse(err, requestId);
    }
    log.error('cognito api unhandled error', { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), stack: err instanceof Error ? err.stack : undefined });
    return cognitoErrorResponse(new CognitoError('InternalErrorException', `Internal error. Quote request id ${requestId}.`, { status: 500 }), requestId);
  }
});
