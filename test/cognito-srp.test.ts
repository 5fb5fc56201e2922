import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { base64ToBytes } from '../lib/encoding.ts';
import { fromHex } from '../lib/srp/group.ts';
import { clientEphemeral, clientSessionKey, passwordClaimSignature } from '../lib/srp/session.ts';
import { formatSrpTimestamp } from '../lib/srp/timestamp.ts';
import { call, passwordSignIn, POOL_ID, seedCognitoClient, seedCognitoUser } from './cognito.test-fixture.ts';
import { afterPasswordSet, afterPasswordSignIn } from '../workers/auth/cognito/password-hooks.ts';
import { db, seedUser } from './support/auth-fixtures.ts';

const POOL_NAME = POOL_ID.split('_')[1] ?? '';

/** The client half of USER_SRP_AUTH, as amazon-cognito-identity-js runs it (lib/srp holds the same maths). */
async function srpSignIn(clientId: string, username: string, password: string, opts: { timestamp?: string } = {}) {
  const { a, A } = clientEphemeral();
  const init = await call('InitiateAuth', { AuthFlow: 'USER_SRP_AUTH', ClientId: clientId, AuthParameters: { USERNAME: username, SRP_A: A.toString(16) } });
  if (init.status !== 200) return { init, respond: init, responses: {} as Record<string, string> };
  const p = init.body.ChallengeParameters as Record<string, string>;
  const userId = p.USER_ID_FOR_SRP ?? '';
  const key = await clientSessionKey({ a, A, B: fromHex(p.SRP_B ?? ''), salt: p.SALT ?? '', poolName: POOL_NAME, userId, password });
  const timestamp = opts.timestamp ?? formatSrpTimestamp(new Date());
  const signature = await passwordClaimSignature(key, { poolName: POOL_NAME, userId, secretBlock: base64ToBytes(p.SECRET_BLOCK ?? ''), timestamp });
  const responses = { USERNAME: userId, PASSWORD_CLAIM_SECRET_BLOCK: p.SECRET_BLOCK ?? '', TIMESTAMP: timestamp, PASSWORD_CLAIM_SIGNATURE: signature };
  const respond = await call('RespondToAuthChallenge', { ClientId: clientId, ChallengeName: 'PASSWORD_VERIFIER', ChallengeResponses: responses });
  return { init, respond, responses };
}

describe('USER_SRP_AUTH', () => {
  it('signs in with the PASSWORD_VERIFIER challenge and mints the usual tokens', async () => {
    const { client } = await seedCognitoClient();
    const { user, password } = await seedCognitoUser();
    const { init, respond } = await srpSignIn(client.id, user.email.toUpperCase(), password);
    expect(init.body).toMatchObject({ ChallengeName: 'PASSWORD_VERIFIER', ChallengeParameters: { USER_ID_FOR_SRP: user.username, USERNAME: user.username } });
    const p = init.body.ChallengeParameters as Record<string, string>;
    expect(p.SALT).toMatch(/^[0-9a-f]+$/);
    expect(p.SRP_B).toMatch(/^[0-9a-f]{700,}$/);
    expect(respond.status).toBe(200);
    expect(respond.body.AuthenticationResult).toMatchObject({ TokenType: 'Bearer', RefreshToken: expect.any(String), IdToken: expect.any(String) });
  });

  it('fails a wrong password, and the answered challenge cannot be replayed', async () => {
    const { client } = await seedCognitoClient();
    const { user, password } = await seedCognitoUser();
    const wrong = await srpSignIn(client.id, user.email, 'not my password');
    expect(wrong.respond.body).toEqual({ __type: 'NotAuthorizedException', message: 'Incorrect username or password.' });
    const ok = await srpSignIn(client.id, user.email, password);
    expect(ok.respond.status).toBe(200);
    const replay = await call('RespondToAuthChallenge', { ClientId: client.id, ChallengeName: 'PASSWORD_VERIFIER', ChallengeResponses: ok.responses });
    expect(replay.body).toMatchObject({ __type: 'NotAuthorizedException' });
  });

  it('gives unknown users a decoy challenge that fails like a wrong password', async () => {
    const { client } = await seedCognitoClient();
    const first = await srpSignIn(client.id, 'ghost@example.com', 'whatever it is');
    expect(first.init.body).toMatchObject({ ChallengeName: 'PASSWORD_VERIFIER' });
    expect(first.respond.body).toEqual({ __type: 'NotAuthorizedException', message: 'Incorrect username or password.' });
    const again = await call('InitiateAuth', { AuthFlow: 'USER_SRP_AUTH', ClientId: client.id, AuthParameters: { USERNAME: 'ghost@example.com', SRP_A: 'abc123' } });
    expect((again.body.ChallengeParameters as Record<string, string>).SALT).toBe((first.init.body.ChallengeParameters as Record<string, string>).SALT);
  });

  it('refuses a stale timestamp, a tampered secret block and a hostile SRP_A', async () => {
    const { client } = await seedCognitoClient();
    const { user, password } = await seedCognitoUser();
    const old = await srpSignIn(client.id, user.email, password, { timestamp: formatSrpTimestamp(new Date(Date.now() - 10 * 60_000)) });
    expect(old.respond.body.__type).toBe('NotAuthorizedException');
    const bad = await srpSignIn(client.id, user.email, password, { timestamp: 'yesterday' });
    expect(bad.respond.body.__type).toBe('InvalidParameterException');
    const { init } = await srpSignIn(client.id, user.email, password);
    const block = (init.body.ChallengeParameters as Record<string, string>).SECRET_BLOCK ?? '';
    const tampered = `${block.slice(0, 20)}${block[20] === 'A' ? 'B' : 'A'}${block.slice(21)}`;
    const res = await call('RespondToAuthChallenge', { ClientId: client.id, ChallengeName: 'PASSWORD_VERIFIER', ChallengeResponses: { USERNAME: user.username, PASSWORD_CLAIM_SECRET_BLOCK: tampered, TIMESTAMP: formatSrpTimestamp(new Date()), PASSWORD_CLAIM_SIGNATURE: 'AAAA' } });
    expect(res.body.__type).toBe('NotAuthorizedException');
    const zero = await call('InitiateAuth', { AuthFlow: 'USER_SRP_AUTH', ClientId: client.id, AuthParameters: { USERNAME: user.email, SRP_A: '0' } });
    expect(zero.body.__type).toBe('InvalidParameterException');
  });

  it('leads a FORCE_CHANGE_PASSWORD user to NEW_PASSWORD_REQUIRED', async () => {
    const { client } = await seedCognitoClient();
    const { user, password } = await seedCognitoUser({ status: 'FORCE_CHANGE_PASSWORD', password: 'temporary Pass 4411' });
    const { respond } = await srpSignIn(client.id, user.email, password);
    expect(respond.body).toMatchObject({ ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: expect.any(String) });
  });

  it('stores a verifier on a USER_PASSWORD_AUTH sign-in of a user who had none, and renews a stale one', async () => {
    const { client } = await seedCognitoClient();
    const password = 'correct horse battery staple';
    const user = await seedUser();
    expect((await srpSignIn(client.id, user.email, password)).respond.body.__type).toBe('NotAuthorizedException');
    expect((await passwordSignIn(client.id, user.email, password)).status).toBe(200);
    expect((await srpSignIn(client.id, user.email, password)).respond.status).toBe(200);
    // A password changed behind the Cognito API's back (no verifier stored) makes the old verifier unusable.
    await env.DB.prepare("UPDATE users SET password_hash = 'pbkdf2-sha256$1$AAAA$' || password_hash WHERE id = ?").bind(user.id).run();
    expect((await srpSignIn(client.id, user.email, password)).respond.body.__type).toBe('NotAuthorizedException');
  });
});

describe('password hooks for the hosted pages', () => {
  it('afterPasswordSet and afterPasswordSignIn store a verifier SRP then accepts', async () => {
    const { client } = await seedCognitoClient();
    const password = 'correct horse battery staple';
    const user = await seedUser();
    expect(await afterPasswordSignIn(env, db(), user, password)).toBe(true);
    expect(await afterPasswordSignIn(env, db(), user, password)).toBe(false);
    expect((await srpSignIn(client.id, user.email, password)).respond.status).toBe(200);
    const other = await seedUser();
    expect(await afterPasswordSet(env, db(), other, password)).toBe(true);
    expect((await srpSignIn(client.id, other.email, password)).respond.status).toBe(200);
  });
});
