/**
 * App clients as the Cognito API sees them: lookup by `ClientId`, and Cognito's SECRET_HASH for clients that have a
 * secret, Base64(HMAC-SHA-256(clientSecret, username + clientId)). Checking it needs the secret itself, which
 * `app_clients` keeps only as SHA-256, so confidential clients also get a Fernet copy in `app_client_secrets`.
 */
import { eq } from 'drizzle-orm';
import { bytesToBase64, sha256Hex, timingSafeEqual, utf8 } from '../../../lib/encoding.ts';
import type { MultiFernet } from '../../../lib/fernet.ts';
import { hmacSha256 } from '../../../lib/srp/group.ts';
import { appClientSecrets } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';
import { requireClient } from '../clients.ts';
import type { AppClient } from '../store/clients.ts';
import { CognitoError, notAuthorized, resourceNotFound } from './errors.ts';

/** Loads the client a Cognito call names, or answers ResourceNotFoundException as Cognito does. */
export async function cognitoClient(db: Database, clientId: string): Promise<AppClient> {
  try {
    return await requireClient(db, clientId);
  } catch {
    throw resourceNotFound(`User pool client ${clientId} does not exist.`);
  }
}

/**
 * Stores a confidential client's secret (Fernet-encrypted) so SECRET_HASH can be checked. Call it wherever a secret is
 * created or rotated; a stored copy whose SHA-256 no longer matches `app_clients.secret_hash` is ignored.
 */
export async function storeClientSecret(db: Database, fernet: MultiFernet, clientId: string, secret: string, now = Date.now()): Promise<void> {
  const ciphertext = await fernet.encrypt(secret);
  await db
    .insert(appClientSecrets)
    .values({ clientId, ciphertext, updatedAt: now })
    .onConflictDoUpdate({ target: appClientSecrets.clientId, set: { ciphertext, updatedAt: now } });
}

/** The client's current secret, or undefined when none is stored or the stored one is stale. */
async function clientSecret(db: Database, fernet: MultiFernet, client: AppClient): Promise<string | undefined> {
  const row = await db.query.appClientSecrets.findFirst({ where: eq(appClientSecrets.clientId, client.id) });
  if (!row || client.secretHash === null) return undefined;
  const secret = await fernet.decryptText(row.ciphertext).catch(() => undefined);
  if (secret === undefined || !timingSafeEqual(await sha256Hex(secret), client.secretHash)) return undefined;
  return secret;
}

/** SECRET_HASH for a username and client, as clients compute it. */
export async function secretHash(secret: string, username: string, clientId: string): Promise<string> {
  return bytesToBase64(await hmacSha256(utf8(secret), utf8(username + clientId)));
}

/**
 * Checks SECRET_HASH for a client with a secret against any of the names the client may have hashed (the username as
 * sent, or for a refresh the user's username or `sub`). Clients without a secret need none.
 */
export async function requireSecretHash(
  db: Database,
  fernet: MultiFernet,
  client: AppClient,
  usernames: readonly string[],
  given: string | undefined,
): Promise<void> {
  if (client.secretHash === null) return;
  if (!given) throw notAuthorized(`Client ${client.id} is configured with secret but SECRET_HASH was not received`);
  const secret = await clientSecret(db, fernet, client);
  const failed = new CognitoError('NotAuthorizedException', `Unable to verify secret hash for client ${client.id}`);
  if (secret === undefined) {
    throw new CognitoError('NotAuthorizedException', failed.message, { internal: `no usable stored secret for client ${client.id}: store it with storeClientSecret (rotate the secret)` });
  }
  let ok = false;
  for (const name of usernames) if (timingSafeEqual(await secretHash(secret, name, client.id), given)) ok = true;
  if (!ok) throw failed;
}
