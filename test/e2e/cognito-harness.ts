/**
 * A local Gatehouse for the Cognito API end-to-end tests: started with its own admin access key (COGNITO_ADMIN_ACCESS_KEYS)
 * and vars, and seeded before start with the same store functions the Worker uses (app clients with a stored secret,
 * users with an SRP verifier and Hasura claims).
 */
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { createMultiFernet, type MultiFernet } from '../../lib/fernet.ts';
import { openLocalD1 } from '../../scripts/lib/local-d1.ts';
import { startLocalServer, type LocalServer } from '../../scripts/lib/local-server.ts';
import { storeClientSecret } from '../../workers/auth/cognito/app-client.ts';
import { storeSrpVerifier } from '../../workers/auth/cognito/srp-store.ts';
import { createAppClient } from '../../workers/auth/store/clients.ts';
import { createUser, type NewUser } from '../../workers/auth/store/users.ts';
import { database, type Database } from '../../workers/db.ts';
import { ROOT } from './fixtures.ts';

/** The pool id every harness server uses; amazon-cognito-identity-js takes the region and pool name from it. */
export const POOL_ID = 'local-1_e2eCognito';
export const REGION = 'local-1';
export const POOL_NAME = 'e2eCognito';

/** The operator credential configured on harness servers. */
export const ADMIN_CREDENTIALS = { accessKeyId: 'AKIDGATEHOUSEE2E0001', secretAccessKey: 'e2e-admin-secret-0123456789abcdef' };

/** What seeding gets: the database, the claims keys, and helpers that also store what the Cognito API needs. */
export type Seeder = {
  db: Database;
  fernet: MultiFernet;
  client: (id: string, confidential: boolean) => Promise<{ clientId: string; clientSecret: string | null }>;
  user: (input: NewUser & { password: string }) => Promise<{ id: string; email: string; password: string }>;
};

/** Starts a harness server; `seed` runs against its D1 before it starts. Stop it with `server.stop()`. */
export async function startCognitoServer<T>(opts: {
  vars?: Record<string, string>;
  seed: (s: Seeder) => Promise<T>;
  /** Runs after seeding with the database closed, e.g. to run the admin CLI against the server's state. */
  afterSeed?: (ctx: { stateDir: string; devVarsPath: string; configPath: string }) => Promise<void>;
}): Promise<{ server: LocalServer; seeded: T }> {
  let seeded: T | undefined;
  const server = await startLocalServer({
    root: ROOT,
    vars: {
      USER_POOL_ID: POOL_ID,
      LOGIN_MAX_FAILURES: '50',
      GROUP_ROLE_MAP: JSON.stringify({ editors: 'editor', viewers: 'viewer' }),
      COGNITO_ADMIN_ACCESS_KEYS: JSON.stringify({ [ADMIN_CREDENTIALS.accessKeyId]: ADMIN_CREDENTIALS.secretAccessKey }),
      ...opts.vars,
    },
    prepare: async (ctx) => {
      const local = await openLocalD1({ configPath: ctx.configPath, stateDir: ctx.stateDir });
      try {
        const db = database(local.db);
        const fernet = createMultiFernet(ctx.secrets.CLAIMS_FERNET_KEYS ?? '');
        seeded = await opts.seed({
          db,
          fernet,
          client: async (id, confidential) => {
            const { client, secret } = await createAppClient(db, { id, name: id, confidential, redirectUris: ['http://127.0.0.1:9/callback'] });
            if (secret) await storeClientSecret(db, fernet, client.id, secret);
            return { clientId: client.id, clientSecret: secret };
          },
          user: async (input) => {
            const user = await createUser(db, fernet, input);
            await storeSrpVerifier(db, fernet, { userId: user.id, username: user.username, password: input.password, poolName: POOL_NAME });
            return { id: user.id, email: user.email, password: input.password };
          },
        });
      } finally {
        await local.dispose();
      }
      await opts.afterSeed?.(ctx);
    },
  });
  return { server, seeded: seeded as T };
}

/** An AWS SDK client pointed at a harness server; with `admin` it signs with the configured operator key. */
export function sdk(server: LocalServer, opts: { admin?: boolean; credentials?: { accessKeyId: string; secretAccessKey: string }; region?: string } = {}) {
  const credentials = opts.credentials ?? (opts.admin ? ADMIN_CREDENTIALS : { accessKeyId: 'AKIDNOTANOPERATOR001', secretAccessKey: 'not-an-operator-secret' });
  return new CognitoIdentityProviderClient({ endpoint: server.url, region: opts.region ?? REGION, credentials, maxAttempts: 1 });
}

/** Verifies one of the server's tokens against its JWKS and returns the payload. */
export async function verifyToken(server: LocalServer, token: string): Promise<JWTPayload> {
  const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: [] };
  return (await jwtVerify(token, createLocalJWKSet(jwks), { issuer: server.url })).payload;
}

/** The Hasura claims of an ID token (stringified JSON, Hasura's `claims_format: stringified_json`). */
export const hasuraClaims = (payload: JWTPayload): Record<string, unknown> => JSON.parse(String(payload['https://hasura.io/jwt/claims'])) as Record<string, unknown>;

/** The latest 6-digit code the dev mailbox holds for an address. */
export async function mailboxCode(server: LocalServer, to: string): Promise<string> {
  const messages = (await (await fetch(`${server.url}/dev/mailbox?to=${encodeURIComponent(to)}&format=json`)).json()) as { text: string }[];
  const code = /\b(\d{6})\b/.exec(messages[0]?.text ?? '')?.[1];
  if (!code) throw new Error(`no code in the mailbox for ${to}`);
  return code;
}
