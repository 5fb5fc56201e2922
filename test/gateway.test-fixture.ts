import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { SignJWT, type JWTPayload } from 'jose';
import { expect } from 'vitest';
import { keyRing } from '../workers/auth/keys.ts';
import { app } from '../workers/app.ts';
import { basic, seedClient, seedCode, seedUser, tokenRequest } from './support/auth-fixtures.ts';

/** The issuer of the test Worker's tokens (wrangler.toml's ISSUER). */
export const ISSUER = 'http://127.0.0.1:8787';
/** Where integration tests send requests. */
export const BASE = 'http://gatehouse.test';

/** The tokens of one signed-in user. */
export type SignedIn = { user: Awaited<ReturnType<typeof seedUser>>; clientId: string; secret: string; access: string; id: string; refresh: string };

/** Seeds a client and a user (Hasura roles `user` and `editor` unless `claims` says otherwise) and signs in through /oauth2/token. */
export async function signIn(user: Parameters<typeof seedUser>[0] = {}): Promise<SignedIn> {
  const { client, secret } = await seedClient();
  const seeded = await seedUser(user);
  const code = await seedCode({ clientId: client.id, userId: seeded.id });
  const res = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: 'https://app.example/callback' }, { Authorization: basic(client.id, secret!) });
  expect(res.status).toBe(200);
  const t = (await res.json()) as { access_token: string; id_token: string; refresh_token: string };
  return { user: seeded, clientId: client.id, secret: secret!, access: t.access_token, id: t.id_token, refresh: t.refresh_token };
}

/** A user whose Hasura allowed roles include `admin`. */
export const signInAdmin = () => {
  const id = crypto.randomUUID();
  return signIn({ id, claims: { 'x-hasura-user-id': id, 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user', 'admin'] } });
};

/** Signs arbitrary claims with the platform's signing key (for expired, future, foreign-issuer … tokens). */
export async function signOwn(claims: JWTPayload, header: { kid?: string } = {}): Promise<string> {
  const ring = await keyRing(env.JWT_SIGNING_KEYS);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, iat: now, exp: now + 600, token_use: 'access', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: header.kid ?? ring.signer.kid })
    .sign(ring.signer.privateKey);
}

/** Calls the Worker as a client would (through the real entry point, with the configured env). */
export function call(path: string, token: string | null, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return exports.default.fetch(`${BASE}${path}`, { ...init, headers });
}

/** Calls the app with extra vars or bindings merged into the env (how tests configure HASURA, limits, issuers …). */
export async function callWith(vars: Record<string, unknown>, path: string, token: string | null, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`${BASE}${path}`, { ...init, headers }), { ...env, ...vars } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** JSON with a method. */
export const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

/** Asserts an RFC 6750 bearer failure: status, `WWW-Authenticate` error code, and a problem body. */
export async function expectBearerError(res: Response, status: number, error: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer error="${error}", error_description="[^"]+"$`));
  expect(res.headers.get('content-type')).toBe('application/problem+json');
}

/** Asserts a problem+json answer and returns its body. */
export async function expectProblem(res: Response, status: number): Promise<{ title: string; detail?: string; type: string; errors?: { path: string; message: string }[] }> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return res.json();
}
