/**
 * Helpers for the Cognito API integration tests: calls in the awsJson1_1 shape, SigV4 signing for admin operations
 * (checked against the AWS SDK's signer in cognito-sigv4.test.ts), and seeding of clients with a stored secret.
 */
import { env } from 'cloudflare:workers';
import { bytesToHex, utf8 } from '../lib/encoding.ts';
import { createMultiFernet } from '../lib/fernet.ts';
import { hmacSha256, sha256HexOf } from '../lib/srp/group.ts';
import { app } from '../workers/app.ts';
import { secretHash, storeClientSecret } from '../workers/auth/cognito/app-client.ts';
import { storeSrpVerifier } from '../workers/auth/cognito/srp-store.ts';
import type { NewUser } from '../workers/auth/store/users.ts';
import { db, seedClient, seedUser } from './support/auth-fixtures.ts';

/** The admin access key the tests' env carries. */
export const ADMIN_KEY = { id: 'AKIDGATEHOUSETEST01', secret: 'gatehouse-test-secret-key-0123456789' };

/** The Worker's env plus COGNITO_ADMIN_ACCESS_KEYS (vitest.config.ts does not set it, so tests add it here). */
export const cognitoEnv = withVars({ COGNITO_ADMIN_ACCESS_KEYS: JSON.stringify({ [ADMIN_KEY.id]: ADMIN_KEY.secret }) });

/** The Worker's env with extra vars; defineProperty keeps the write off `env` itself (a proxy whose set trap would take it). */
export function withVars(vars: Record<string, string>): Env {
  const derived = Object.create(env) as Env;
  for (const [name, value] of Object.entries(vars)) Object.defineProperty(derived, name, { value, enumerable: true });
  return derived;
}

/** The pool id and region of the test Worker (wrangler.toml's USER_POOL_ID). */
export const POOL_ID = env.USER_POOL_ID;
export const REGION = POOL_ID.split('_')[0] ?? 'local-1';

const URL_ = 'http://gatehouse.test/';

/** A fresh client address per call, so the per-IP lock-out of one test never spills into another. */
const randomIp = () => `10.${[...crypto.getRandomValues(new Uint8Array(3))].join('.')}`;

/** A raw POST / with the given target, body text and extra headers. */
export function rawCall(target: string | undefined, body: string, headers: Record<string, string> = {}, targetEnv: Env = cognitoEnv): Promise<Response> {
  const h = new Headers({ 'Content-Type': 'application/x-amz-json-1.1', 'CF-Connecting-IP': randomIp() });
  if (target !== undefined) h.set('X-Amz-Target', `AWSCognitoIdentityProviderService.${target}`);
  for (const [name, value] of Object.entries(headers)) h.set(name, value);
  return Promise.resolve(app.fetch(new Request(URL_, { method: 'POST', headers: h, body }), targetEnv));
}

/** Calls an operation and returns status and parsed body. */
export async function call(op: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await rawCall(op, JSON.stringify(body), headers);
  return { res, status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Signs a request with SigV4 (AWS4-HMAC-SHA256) as the AWS SDK does: host, x-amz-date, x-amz-target and content-type signed. */
export async function sigv4Headers(input: { target: string; body: string; key?: { id: string; secret: string }; region?: string; date?: Date; host?: string }) {
  const key = input.key ?? ADMIN_KEY;
  const region = input.region ?? REGION;
  const amzDate = (input.date ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    host: input.host ?? 'gatehouse.test',
    'x-amz-date': amzDate,
    'x-amz-target': `AWSCognitoIdentityProviderService.${input.target}`,
  };
  const names = Object.keys(headers).sort();
  const canonical = ['POST', '/', '', names.map((n) => `${n}:${headers[n]}\n`).join(''), names.join(';'), await sha256HexOf(utf8(input.body))].join('\n');
  const scope = `${day}/${region}/cognito-idp/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, await sha256HexOf(utf8(canonical))].join('\n');
  let k = await hmacSha256(utf8(`AWS4${key.secret}`), utf8(day));
  for (const part of [region, 'cognito-idp', 'aws4_request']) k = await hmacSha256(k, utf8(part));
  const signature = bytesToHex(await hmacSha256(k, utf8(toSign)));
  const { host: _, ...rest } = headers;
  return { ...rest, authorization: `AWS4-HMAC-SHA256 Credential=${key.id}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

/** Calls an admin operation signed with the configured test key (or the given one). */
export async function adminCall(op: string, body: unknown, opts: { key?: { id: string; secret: string }; region?: string; date?: Date } = {}) {
  const text = JSON.stringify(body);
  const res = await rawCall(op, text, await sigv4Headers({ target: op, body: text, ...opts }));
  return { res, status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The claims key ring of the test env. */
export const fernet = () => createMultiFernet(env.CLAIMS_FERNET_KEYS);

/** A client for the Cognito API tests: public by default; a confidential one has its secret stored for SECRET_HASH. */
export async function seedCognitoClient(opts: { confidential?: boolean; storeSecret?: boolean } = {}) {
  const { client, secret } = await seedClient({ confidential: opts.confidential ?? false, grantTypes: ['authorization_code', 'refresh_token'] });
  if (secret && opts.storeSecret !== false) await storeClientSecret(db(), fernet(), client.id, secret);
  return { client, secret };
}

/** A confirmed user with Hasura claims and an SRP verifier for the test pool. */
export async function seedCognitoUser(overrides: Partial<NewUser> = {}) {
  const user = await seedUser(overrides);
  const password = overrides.password ?? 'correct horse battery staple';
  await storeSrpVerifier(db(), fernet(), { userId: user.id, username: user.username, password, poolName: POOL_ID.split('_')[1] ?? '' });
  return { user, password };
}

/** SECRET_HASH for a username and a seeded client. */
export const hashFor = (secret: string, username: string, clientId: string) => secretHash(secret, username, clientId);

/** Signs in with USER_PASSWORD_AUTH and returns the AuthenticationResult. */
export async function passwordSignIn(clientId: string, username: string, password: string, extra: Record<string, string> = {}) {
  const out = await call('InitiateAuth', { AuthFlow: 'USER_PASSWORD_AUTH', ClientId: clientId, AuthParameters: { USERNAME: username, PASSWORD: password, ...extra } });
  return { ...out, result: out.body.AuthenticationResult as { AccessToken: string; IdToken: string; RefreshToken?: string; ExpiresIn: number; TokenType: string } | undefined };
}

/** Reads the latest code mailed to an address from the outbox. */
export async function latestCode(email: string): Promise<string> {
  const row = await env.DB.prepare('SELECT text FROM mail_outbox WHERE "to" = ? ORDER BY created_at DESC, id DESC LIMIT 1').bind(email).first<{ text: string }>();
  const code = /\b(\d{6})\b/.exec(row?.text ?? '')?.[1];
  if (!code) throw new Error(`no code mailed to ${email}`);
  return code;
}
