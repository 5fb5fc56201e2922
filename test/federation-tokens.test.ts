import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { parseIdentityProviders } from '../workers/auth/federation/config.ts';
import { resolveFederatedUser } from '../workers/auth/federation/link.ts';
import { issueAuthCode } from '../workers/auth/store/codes.ts';
import { db, fetchWith, pkce, REDIRECT, seedClient, seedUser, uniqueEmail } from './auth-hosted-helpers.ts';

/**
 * Tokens for federated users (needs the token endpoint and minting to accept EXTERNAL_PROVIDER users and to load
 * their links: see the federation report's requested changes to token.ts, session.ts, complete.ts and mint.ts).
 */
const POOL = 'local-1_gatehouse';

async function federatedUser(linking: 'never' | 'verified_email', email = uniqueEmail('fedtok')) {
  const name = `Acme${crypto.randomUUID().slice(0, 6)}`;
  const [provider] = parseIdentityProviders(JSON.stringify([{ name, issuer: 'https://idp.example', clientId: 'c', linking }]), JSON.stringify({ [name]: 's' }));
  const subject = `AbC-${crypto.randomUUID()}`;
  const { user } = await resolveFederatedUser(db(), { provider: provider!, poolId: POOL, profile: { subject, email, emailVerified: true, attributes: {} } });
  return { user, name, subject };
}

async function tokensFor(userId: string, vars: Partial<Env> = {}) {
  const { client } = await seedClient();
  const { verifier, challenge } = await pkce();
  const code = await issueAuthCode(db(), {
    clientId: client.id, userId, redirectUri: REDIRECT, scopes: ['openid', 'email'], nonce: null,
    codeChallenge: challenge, codeChallengeMethod: 'S256', authTime: Date.now(),
  });
  const res = await fetchWith(vars, 'http://localhost/oauth2/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: client.id, code_verifier: verifier }),
  });
  const body = (await res.json()) as { id_token?: string; access_token?: string; refresh_token?: string; error?: string };
  return { status: res.status, body, client };
}

describe('tokens of federated users', () => {
  it('carry identities (ID token only), the provider group and its Hasura role', async () => {
    const { user, name, subject } = await federatedUser('never');
    const group = `${POOL}_${name}`;
    const vars = { GROUP_ROLE_MAP: JSON.stringify({ [group]: 'federated' }), HASURA_DEFAULT_ROLE: 'federated' } as Partial<Env>;
    const { status, body, client } = await tokensFor(user.id, vars);
    expect(status, body.error).toBe(200);
    const id = decodeJwt(body.id_token ?? '');
    expect(id['cognito:username']).toBe(`${name}_${subject}`.toLowerCase());
    expect(id['cognito:groups']).toEqual([group]);
    expect(id.identities).toEqual([{ userId: subject, providerName: name, providerType: 'OIDC', issuer: null, primary: 'true', dateCreated: expect.stringMatching(/^\d+$/) }]);
    expect(JSON.parse(String(id['https://hasura.io/jwt/claims']))).toMatchObject({ 'x-hasura-default-role': 'federated', 'x-hasura-allowed-roles': ['federated'] });
    expect('identities' in decodeJwt(body.access_token ?? '')).toBe(false);

    const refreshed = await fetchWith(vars, 'http://localhost/oauth2/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: body.refresh_token ?? '', client_id: client.id }),
    });
    const again = (await refreshed.json()) as { id_token?: string };
    expect(decodeJwt(again.id_token ?? '').identities).toEqual(id.identities);
  });

  it('carry identities for a local account linked by verified email, and none for a local account without links', async () => {
    const local = await seedUser({ claims: { 'x-hasura-default-role': 'editor', 'x-hasura-allowed-roles': ['editor'] } });
    const { user, name } = await federatedUser('verified_email', local.email);
    expect(user.id).toBe(local.id);
    const linked = decodeJwt((await tokensFor(local.id)).body.id_token ?? '');
    expect(linked['cognito:username']).toBe(local.email);
    expect(linked.identities).toMatchObject([{ providerName: name, primary: 'true' }]);
    const plain = await seedUser({ claims: { 'x-hasura-default-role': 'editor', 'x-hasura-allowed-roles': ['editor'] } });
    expect('identities' in decodeJwt((await tokensFor(plain.id)).body.id_token ?? '')).toBe(false);
  });
});
