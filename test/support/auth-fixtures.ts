import { env, exports } from 'cloudflare:workers';
import { createMultiFernet } from '../../lib/fernet.ts';
import { s256Challenge } from '../../lib/pkce.ts';
import { createAppClient, type NewAppClient } from '../../workers/auth/store/clients.ts';
import { issueAuthCode } from '../../workers/auth/store/codes.ts';
import { createUser, type NewUser } from '../../workers/auth/store/users.ts';
import { database } from '../../workers/db.ts';

/** The integration tests' D1 handle. */
export const db = () => database(env.DB);

/** A unique email for one test. */
export const uniqueEmail = (tag = 'user') => `${tag}-${crypto.randomUUID().slice(0, 8)}@example.com`;

/** Seeds a client (confidential unless `confidential: false`). */
export function seedClient(overrides: Partial<NewAppClient> = {}) {
  return createAppClient(db(), {
    name: 'test client',
    confidential: true,
    redirectUris: ['https://app.example/callback'],
    logoutUris: ['https://app.example/'],
    allowedScopes: ['openid', 'email', 'profile', 'api/read'],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    ...overrides,
  });
}

/** Seeds a confirmed user with Hasura claims (roles `user` and `editor`) unless told otherwise. */
export async function seedUser(overrides: Partial<NewUser> = {}) {
  const id = overrides.id ?? crypto.randomUUID();
  return createUser(db(), createMultiFernet(env.CLAIMS_FERNET_KEYS), {
    id,
    email: uniqueEmail(),
    password: 'correct horse battery staple',
    status: 'CONFIRMED',
    emailVerified: true,
    groups: ['staff'],
    claims: { 'x-hasura-user-id': id, 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user', 'editor'], 'x-hasura-user-db-id': 42 },
    ...overrides,
  });
}

/** A fresh PKCE verifier and its S256 challenge. */
export async function pkcePair() {
  const verifier = crypto.randomUUID() + crypto.randomUUID();
  return { verifier, challenge: await s256Challenge(verifier) };
}

/** Issues an authorization code directly in D1, as /oauth2/authorize would after sign-in. */
export function seedCode(input: { clientId: string; userId: string; challenge?: string; nonce?: string; scopes?: string[]; redirectUri?: string }, now?: number) {
  return issueAuthCode(
    db(),
    {
      clientId: input.clientId,
      userId: input.userId,
      redirectUri: input.redirectUri ?? 'https://app.example/callback',
      scopes: input.scopes ?? ['openid', 'email', 'profile'],
      nonce: input.nonce ?? null,
      codeChallenge: input.challenge ?? null,
      codeChallengeMethod: input.challenge ? 'S256' : null,
      authTime: Date.now(),
    },
    now,
  );
}

/** POSTs a form to the token endpoint. */
export function tokenRequest(form: Record<string, string>, headers: Record<string, string> = {}) {
  return exports.default.fetch('http://gatehouse.test/oauth2/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

/** The HTTP Basic header for a client (RFC 6749 §2.3.1 form-encodes both parts). */
export const basic = (id: string, secret: string) => `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;
