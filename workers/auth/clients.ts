import { OAuthError } from '../../lib/errors.ts';
import { sha256Hex, timingSafeEqual } from '../../lib/encoding.ts';
import type { Database } from '../db.ts';
import { findAppClient, type AppClient } from './store/clients.ts';

/** Whether a redirect URI is registered for the client: exact string match, as RFC 6749 §3.1.2.3 and OAuth 2.1 require. */
export const isRegisteredRedirect = (client: AppClient, uri: string): boolean => client.redirectUris.includes(uri);

/** Whether a client is public (no secret), which makes PKCE S256 mandatory. */
export const isPublicClient = (client: AppClient): boolean => client.secretHash === null;

/** Checks a client secret against the stored SHA-256 in constant time. */
export async function secretMatches(client: AppClient, secret: string): Promise<boolean> {
  if (client.secretHash === null) return false;
  return timingSafeEqual(await sha256Hex(secret), client.secretHash);
}

/** Loads a client for an OAuth endpoint, failing with `invalid_client` when it does not exist. */
export async function requireClient(db: Database, clientId: string | undefined): Promise<AppClient> {
  const client = clientId ? await findAppClient(db, clientId) : undefined;
  if (!client) throw new OAuthError('invalid_client', 'Client authentication failed.', { internal: `unknown client ${clientId ?? '(none)'}` });
  return client;
}
