import { eq } from 'drizzle-orm';
import { randomToken, sha256Hex } from '../../../lib/encoding.ts';
import { appClients, type GRANT_TYPES } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

/** A registered app client as the store returns it. */
export type AppClient = typeof appClients.$inferSelect;

/** What an operator gives to register a client. */
export type NewAppClient = {
  id?: string;
  name: string;
  confidential: boolean;
  redirectUris: string[];
  logoutUris?: string[];
  allowedScopes?: string[];
  grantTypes?: (typeof GRANT_TYPES)[number][];
  idTokenTtl?: number;
  accessTokenTtl?: number;
  refreshTokenTtl?: number;
  refreshGraceSeconds?: number;
};

const CLIENT_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A Cognito-looking client id: 26 lower-case alphanumerics (~134 bits). */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(26));
  return [...bytes].map((b) => CLIENT_ID_ALPHABET[b % CLIENT_ID_ALPHABET.length]).join('');
}

/** Registers a client; the secret (confidential clients only) is returned once and stored as SHA-256. */
export async function createAppClient(db: Database, input: NewAppClient): Promise<{ client: AppClient; secret: string | null }> {
  const secret = input.confidential ? randomToken(32) : null;
  const [client] = await db
    .insert(appClients)
    .values({
      id: input.id ?? newClientId(),
      name: input.name,
      secretHash: secret ? await sha256Hex(secret) : null,
      redirectUris: input.redirectUris,
      logoutUris: input.logoutUris ?? [],
      allowedScopes: input.allowedScopes ?? ['openid', 'email', 'profile'],
      grantTypes: input.grantTypes ?? ['authorization_code', 'refresh_token'],
      idTokenTtl: input.idTokenTtl ?? 3600,
      accessTokenTtl: input.accessTokenTtl ?? 3600,
      refreshTokenTtl: input.refreshTokenTtl ?? 30 * 24 * 3600,
      refreshGraceSeconds: input.refreshGraceSeconds ?? 0,
    })
    .returning();
  if (!client) throw new Error('insert returned no row');
  return { client, secret };
}

/** Looks a client up by id. */
export async function findAppClient(db: Database, id: string): Promise<AppClient | undefined> {
  return db.query.appClients.findFirst({ where: eq(appClients.id, id) });
}
