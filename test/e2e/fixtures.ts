import path from 'node:path';
import { createMultiFernet } from '../../lib/fernet.ts';
import { openLocalD1 } from '../../scripts/lib/local-d1.ts';
import { createAppClient } from '../../workers/auth/store/clients.ts';
import { createUser } from '../../workers/auth/store/users.ts';
import { database } from '../../workers/db.ts';

/** The app clients and user every e2e test can use; seeded into the server's D1 before it starts. */
export type E2eFixtures = {
  redirectUri: string;
  publicClient: { clientId: string; redirectUri: string };
  confidentialClient: { clientId: string; clientSecret: string; redirectUri: string };
  user: { id: string; email: string; password: string };
};

/** Where the e2e clients send the browser back; nothing listens there, the tests read the URL. */
export const E2E_REDIRECT_URI = 'http://127.0.0.1:9/callback';

/** Seeds the shared e2e fixtures with the same store functions the Worker and the admin CLI use. */
export async function seedFixtures(ctx: { configPath: string; stateDir: string; secrets: Record<string, string> }): Promise<E2eFixtures> {
  const local = await openLocalD1({ configPath: ctx.configPath, stateDir: ctx.stateDir });
  try {
    const db = database(local.db);
    const common = {
      redirectUris: [E2E_REDIRECT_URI],
      logoutUris: ['http://127.0.0.1:9/signed-out'],
      allowedScopes: ['openid', 'email', 'profile', 'api/read'],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] as ('authorization_code' | 'refresh_token' | 'client_credentials')[],
    };
    const pub = await createAppClient(db, { ...common, id: 'e2e-public', name: 'e2e public SPA', confidential: false, grantTypes: ['authorization_code', 'refresh_token'] });
    const conf = await createAppClient(db, { ...common, id: 'e2e-confidential', name: 'e2e web app', confidential: true });
    const id = crypto.randomUUID();
    const password = 'e2e correct horse battery';
    const email = 'e2e-user@example.com';
    await createUser(db, createMultiFernet(ctx.secrets.CLAIMS_FERNET_KEYS ?? ''), {
      id,
      email,
      password,
      status: 'CONFIRMED',
      emailVerified: true,
      groups: ['editors'],
      claims: { 'x-hasura-user-id': id, 'x-hasura-default-role': 'editor', 'x-hasura-allowed-roles': ['editor', 'viewer'], 'x-hasura-user-db-id': 7 },
    });
    return {
      redirectUri: E2E_REDIRECT_URI,
      publicClient: { clientId: pub.client.id, redirectUri: E2E_REDIRECT_URI },
      confidentialClient: { clientId: conf.client.id, clientSecret: conf.secret ?? '', redirectUri: E2E_REDIRECT_URI },
      user: { id, email, password },
    };
  } finally {
    await local.dispose();
  }
}

/** The project root, for tests that spawn scripts. */
export const ROOT = path.resolve(import.meta.dirname, '../..');
