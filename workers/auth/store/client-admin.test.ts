import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../lib/encoding.ts';
import { Problem } from '../../../lib/errors.ts';
import { appClients, auditLog, refreshTokens, revokedFamilies } from '../../../schema/index.ts';
import { database } from '../../db.ts';
import { clientUriProblem, deleteClient, getClient, listClients, registerClient, rotateClientSecret, updateClient } from './client-admin.ts';
import { issueRefreshToken } from './refresh-tokens.ts';
import { createUser } from './users.ts';
import { createMultiFernet } from '../../../lib/fernet.ts';

const db = () => database(env.DB);
const by = { actor: 'admin-cli' };

/** Runs `fn` and returns the Problem it threw (failing the test when it throws anything else or nothing). */
async function problemOf(fn: () => Promise<unknown>): Promise<Problem> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Problem);
  return err as Problem;
}

const auditFor = (target: string) => db().select().from(auditLog).where(eq(auditLog.target, target)).orderBy(auditLog.id);

describe('clientUriProblem', () => {
  it('accepts https anywhere and http only on loopback', () => {
    expect(clientUriProblem('https://app.example/callback')).toBeUndefined();
    expect(clientUriProblem('http://localhost:3000/cb')).toBeUndefined();
    expect(clientUriProblem('http://127.0.0.1/cb')).toBeUndefined();
    expect(clientUriProblem('http://app.example/cb')).toBe('must use https (http only for localhost or 127.0.0.1)');
    expect(clientUriProblem('/relative')).toBe('is not an absolute URI');
    expect(clientUriProblem('https://app.example/cb#x')).toBe('must not contain a fragment (RFC 6749 §3.1.2)');
    expect(clientUriProblem('com.example.app:/cb')).toBe('must use https (http only for localhost or 127.0.0.1)');
  });
});

describe('registerClient', () => {
  it('stores a confidential client with Cognito defaults, only the SHA-256 of its secret, and an audit row', async () => {
    const { client, secret } = await registerClient(db(), { name: 'Web app', confidential: true, redirectUris: ['https://app.example/cb'] }, by);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(client).toMatchObject({
      name: 'Web app',
      secretHash: await sha256Hex(secret ?? ''),
      redirectUris: ['https://app.example/cb'],
      logoutUris: [],
      allowedScopes: ['openid', 'email', 'profile'],
      grantTypes: ['authorization_code', 'refresh_token'],
      idTokenTtl: 3600,
      accessTokenTtl: 3600,
      refreshTokenTtl: 2_592_000,
      refreshGraceSeconds: 0,
      allowPlainPkce: false,
    });
    expect(client.id).toMatch(/^[a-z0-9]{26}$/);
    expect((await getClient(db(), client.id)).secretHash).toBe(client.secretHash);
    const [audit] = await auditFor(client.id);
    expect(audit).toMatchObject({ actor: 'admin-cli', action: 'client.create', detail: { name: 'Web app', confidential: true } });
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it('registers a public client without a secret', async () => {
    const { client, secret } = await registerClient(db(), { name: 'SPA', confidential: false, redirectUris: ['http://localhost:5173/'], allowPlainPkce: true }, by);
    expect(secret).toBeNull();
    expect(client.secretHash).toBeNull();
    expect(client.allowPlainPkce).toBe(true);
  });

  it('refuses invalid settings with one problem naming each field', async () => {
    const p = await problemOf(() =>
      registerClient(db(), { name: 'Bad', confidential: false, redirectUris: ['http://evil.example/cb'], grantTypes: ['client_credentials'], refreshGraceSeconds: 61 }, by),
    );
    expect(p.status).toBe(400);
    expect(p.errors?.map((e) => e.path).sort()).toEqual(['grantTypes', 'redirectUris.0', 'refreshGraceSeconds']);
    expect(p.message).toContain('http://evil.example/cb must use https');
    expect(p.message).toContain('client_credentials needs a confidential client');
  });

  it('needs a redirect URI for the code flow but not for client_credentials alone', async () => {
    const p = await problemOf(() => registerClient(db(), { name: 'No URI', confidential: true }, by));
    expect(p.message).toBe('invalid client settings: redirectUris: authorization_code needs at least one redirect URI');
    const { client } = await registerClient(db(), { name: 'M2M', confidential: true, grantTypes: ['client_credentials'] }, by);
    expect(client.grantTypes).toEqual(['client_credentials']);
  });
});

describe('updateClient, rotateClientSecret, listClients', () => {
  it('updates the given fields only and validates the merged client', async () => {
    const { client } = await registerClient(db(), { name: 'Up', confidential: true, redirectUris: ['https://a.example/cb'] }, by);
    const updated = await updateClient(db(), client.id, { name: 'Up 2', accessTokenTtl: 900, logoutUris: ['https://a.example/bye'], refreshGraceSeconds: undefined }, by);
    expect(updated).toMatchObject({ name: 'Up 2', accessTokenTtl: 900, logoutUris: ['https://a.example/bye'], redirectUris: ['https://a.example/cb'], idTokenTtl: 3600 });
    expect(updated.secretHash).toBe(client.secretHash);
    expect((await problemOf(() => updateClient(db(), client.id, { refreshGraceSeconds: 61 }, by))).status).toBe(400);
    expect((await problemOf(() => updateClient(db(), client.id, { redirectUris: [] }, by))).message).toContain('needs at least one redirect URI');
    expect((await problemOf(() => updateClient(db(), 'nope', { name: 'x' }, by))).status).toBe(404);
    expect((await auditFor(client.id)).map((a) => a.action)).toEqual(['client.create', 'client.update']);
  });

  it('replaces the secret hash, and refuses public clients', async () => {
    const { client, secret } = await registerClient(db(), { name: 'Rot', confidential: true, redirectUris: ['https://a.example/cb'] }, by);
    const rotated = await rotateClientSecret(db(), client.id, by);
    expect(rotated.secret).not.toBe(secret);
    const [row] = await db().select().from(appClients).where(eq(appClients.id, client.id));
    expect(row?.secretHash).toBe(await sha256Hex(rotated.secret));
    expect(row?.secretHash).not.toBe(client.secretHash);
    const pub = await registerClient(db(), { name: 'Pub', confidential: false, redirectUris: ['https://a.example/cb'] }, by);
    const p = await problemOf(() => rotateClientSecret(db(), pub.client.id, by));
    expect(p.status).toBe(409);
    expect(p.message).toBe(`app client ${pub.client.id} is public: it has no secret to rotate`);
    expect((await listClients(db())).map((c) => c.id)).toEqual(expect.arrayContaining([client.id, pub.client.id]));
  });
});

describe('deleteClient', () => {
  it('records live token families as revoked, then deletes the client and its refresh tokens', async () => {
    const { client } = await registerClient(db(), { name: 'Del', confidential: true, redirectUris: ['https://a.example/cb'] }, by);
    const user = await createUser(db(), createMultiFernet(env.CLAIMS_FERNET_KEYS), { email: `del-${crypto.randomUUID()}@example.com` });
    const familyId = crypto.randomUUID();
    const grant = { familyId, clientId: client.id, userId: user.id, scopes: ['openid'], authTime: Date.now(), originJti: familyId, ttlSeconds: 3600 };
    await issueRefreshToken(db(), grant);
    await issueRefreshToken(db(), grant);
    expect(await deleteClient(db(), client.id, by)).toEqual({ revokedFamilies: 1 });
    const [revoked] = await db().select().from(revokedFamilies).where(eq(revokedFamilies.familyId, familyId));
    expect(revoked?.reason).toBe('revoked');
    expect(revoked?.expiresAt).toBeGreaterThan(Date.now());
    expect(await db().select().from(refreshTokens).where(and(eq(refreshTokens.clientId, client.id)))).toEqual([]);
    expect((await problemOf(() => getClient(db(), client.id))).status).toBe(404);
    expect((await auditFor(client.id)).map((a) => a.action)).toEqual(['client.create', 'client.delete']);
    expect((await problemOf(() => deleteClient(db(), client.id, by))).status).toBe(404);
  });
});
