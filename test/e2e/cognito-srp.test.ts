import { AuthenticationDetails, CognitoUser, CognitoUserPool, type CognitoUserSession } from 'amazon-cognito-identity-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../scripts/lib/local-server.ts';
import { hasuraClaims, POOL_ID, startCognitoServer, verifyToken } from './cognito-harness.ts';

/**
 * SRP sign-in (USER_SRP_AUTH → PASSWORD_VERIFIER) driven by the real amazon-cognito-identity-js, Amplify's Cognito
 * client, with `endpoint` pointed at a running Worker; also its NEW_PASSWORD_REQUIRED and refresh paths.
 */
let server: LocalServer;
let fx: { clientId: string; editor: { id: string; email: string; password: string }; fresh: { email: string; password: string } };

beforeAll(async () => {
  const started = await startCognitoServer({
    seed: async (s) => {
      const { clientId } = await s.client('e2e-srp-spa', false);
      const claims = { 'x-hasura-default-role': 'editor', 'x-hasura-allowed-roles': ['editor'], 'x-hasura-user-db-id': 99 };
      const editor = await s.user({ email: 'srp-editor@example.com', password: 'srp editor passphrase', status: 'CONFIRMED', emailVerified: true, groups: ['editors'], claims });
      const fresh = await s.user({ email: 'srp-new@example.com', password: 'temporary srp passphrase', status: 'FORCE_CHANGE_PASSWORD', emailVerified: true, groups: ['viewers'] });
      return { clientId, editor, fresh };
    },
  });
  server = started.server;
  fx = started.seeded;
});

afterAll(async () => {
  await server?.stop();
});

const pool = () => new CognitoUserPool({ UserPoolId: POOL_ID, ClientId: fx.clientId, endpoint: `${server.url}/` });

type Outcome = { kind: 'success'; session: CognitoUserSession } | { kind: 'failure'; error: Error & { code?: string } } | { kind: 'newPassword'; user: CognitoUser };

/** Runs CognitoUser.authenticateUser (USER_SRP_AUTH, the library's default flow) and reports how it ended. */
function authenticate(email: string, password: string): Promise<Outcome> {
  const user = new CognitoUser({ Username: email, Pool: pool() });
  return new Promise((resolve) => {
    user.authenticateUser(new AuthenticationDetails({ Username: email, Password: password }), {
      onSuccess: (session) => resolve({ kind: 'success', session }),
      onFailure: (error: Error & { code?: string }) => resolve({ kind: 'failure', error }),
      newPasswordRequired: () => resolve({ kind: 'newPassword', user }),
    });
  });
}

describe('amazon-cognito-identity-js SRP sign-in against Gatehouse', () => {
  it('signs in with USER_SRP_AUTH and receives tokens with the Hasura claims', async () => {
    const outcome = await authenticate(fx.editor.email, fx.editor.password);
    if (outcome.kind !== 'success') throw new Error(`expected success, got ${outcome.kind}: ${outcome.kind === 'failure' ? outcome.error.message : ''}`);
    const id = await verifyToken(server, outcome.session.getIdToken().getJwtToken());
    expect(id).toMatchObject({ sub: fx.editor.id, 'cognito:username': fx.editor.email, 'cognito:groups': ['editors'], aud: fx.clientId });
    expect(hasuraClaims(id)).toEqual({ 'x-hasura-user-id': fx.editor.id, 'x-hasura-default-role': 'editor', 'x-hasura-allowed-roles': ['editor'], 'x-hasura-user-db-id': '99' });
    expect(outcome.session.isValid()).toBe(true);
    expect(outcome.session.getRefreshToken().getToken()).toMatch(/^[\w-]{43}$/);
  });

  it('refreshes the session with the refresh token (REFRESH_TOKEN_AUTH)', async () => {
    const outcome = await authenticate(fx.editor.email, fx.editor.password);
    if (outcome.kind !== 'success') throw new Error('sign-in failed');
    const user = new CognitoUser({ Username: fx.editor.email, Pool: pool() });
    const refreshed = await new Promise<CognitoUserSession>((resolve, reject) =>
      user.refreshSession(outcome.session.getRefreshToken(), (err: Error | null, session: CognitoUserSession) => (err ? reject(err) : resolve(session))),
    );
    const before = await verifyToken(server, outcome.session.getIdToken().getJwtToken());
    const after = await verifyToken(server, refreshed.getIdToken().getJwtToken());
    expect(after.origin_jti).toBe(before.origin_jti);
    expect(after.jti).not.toBe(before.jti);
  });

  it('fails a wrong password and an unknown user with NotAuthorizedException', async () => {
    for (const [email, password] of [[fx.editor.email, 'not the editor passphrase'], ['nobody-srp@example.com', 'whatever it may be']] as const) {
      const outcome = await authenticate(email, password);
      expect(outcome.kind).toBe('failure');
      if (outcome.kind === 'failure') expect(outcome.error).toMatchObject({ code: 'NotAuthorizedException', message: 'Incorrect username or password.' });
    }
  });

  it('completes NEW_PASSWORD_REQUIRED for a user with a temporary password, then signs in with the new one over SRP', async () => {
    const outcome = await authenticate(fx.fresh.email, fx.fresh.password);
    if (outcome.kind !== 'newPassword') throw new Error(`expected newPasswordRequired, got ${outcome.kind}`);
    const session = await new Promise<CognitoUserSession>((resolve, reject) =>
      outcome.user.completeNewPasswordChallenge('my chosen srp passphrase', {}, { onSuccess: resolve, onFailure: reject }),
    );
    expect(hasuraClaims(await verifyToken(server, session.getIdToken().getJwtToken()))['x-hasura-allowed-roles']).toEqual(['viewer']);
    const again = await authenticate(fx.fresh.email, 'my chosen srp passphrase');
    expect(again.kind).toBe('success');
  });
});
